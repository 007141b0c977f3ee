"""The C core of Message (amikit.protocol._speedups) and its pure-Python twin agree.

Both cores implement the hot calls (construction, ``raw``, ``name``, ``get``, ``to_dict``);
every other Message method is shared Python. So the twins are compared call for call on
every frame of every real capture, and on generated frames full of the bytes the rules care
about (CR, LF, colons, blanks, parentheses, letter case, invalid UTF-8), in every kind of
framing (CRLF, LF, old-style Command reply, with and without the stored blank line).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amikit.protocol import Parser
from amikit.protocol._message import _FOLLOWS, _LF, _NOTERM, Message, _MessageCore
from amikit.record._files import read_capture
from tests.conftest import CAPTURES, TRANSCRIPTS

ROOT = Path(__file__).resolve().parents[2]

try:
    from amikit.protocol._speedups import MessageCore as CCore
except ImportError:  # not built (no compiler): the pure-Python core is all there is
    CCore = None

needs_c = pytest.mark.skipif(CCore is None, reason="the C core is not built")


def _twin(core: type) -> type:
    """Message on the given core: the same Python methods, another base."""
    body = {
        k: v
        for k, v in vars(Message).items()
        if k not in ("__dict__", "__weakref__", "__slots__", "__doc__")
    }
    return type("Message", (core,), {**body, "__slots__": ()})


PyMessage = _twin(_MessageCore)
CMessage = _twin(CCore) if CCore is not None else None
MISSING = object()


def _keys_to_try(frame: bytes, extra: tuple[str, ...] = ()) -> list[str]:
    """Every key of the frame in three spellings, some absent ones, some odd ones."""
    keys = {"Event", "Response", "Action", "Uniqueid", "Linkedid", "ActionID", "Output", ""}
    keys.update(extra)
    for k, _ in PyMessage(frame, 0)._parse() if frame else []:
        keys.update((k, k.lower(), k.upper()))
    return sorted(keys)


def assert_same(frame: bytes, kind: int, keys: list[str]) -> None:
    py = PyMessage(frame, kind)
    c = CMessage(frame, kind)
    assert c.raw == py.raw
    assert c.name == py.name
    assert c.to_dict() == py.to_dict()
    for key in keys:
        assert c.get(key) == py.get(key), key
        assert c.get(key, MISSING) is MISSING or c.get(key, MISSING) == py.get(key, MISSING)
        assert (c.get(key, MISSING) is MISSING) == (py.get(key, MISSING) is MISSING)
    # after decoding (items cached), the same again, through the general path
    assert c.items() == py.items() and c.output == py.output
    assert c.to_dict() == py.to_dict()
    for key in keys:
        assert c.get(key) == py.get(key), key


@needs_c
@pytest.mark.parametrize("path", CAPTURES + TRANSCRIPTS, ids=lambda p: p.name)
def test_the_twins_agree_on_every_frame_of_every_capture(path):
    messages = Parser().feed(read_capture(path))
    assert messages
    for msg in messages:
        assert isinstance(msg, Message)
        assert_same(msg._frame, msg._k, _keys_to_try(msg.raw))
        # as a caller builds one from a recording: the whole frame, kind read from it
        assert_same(msg.raw, -1, ["Event", "Uniqueid", "Channel"])


# Bytes the rules care about, with enough letters to form real keys.
_PIECES = [
    b"\r\n",
    b"\n",
    b"\r",
    b":",
    b": ",
    b":  ",
    b":\t",
    b" ",
    b"\t",
    b"(",
    b")",
    b"Event",
    b"event",
    b"EVENT",
    b"Response",
    b"Action",
    b"Uniqueid",
    b"UNIQUEID",
    b"Follows",
    b"Response: Follows\r\n",
    b"--END COMMAND--",
    b"ChanVariable(IAX2/1.2.3.4:4569-1)",
    b"Value",
    b"x",
    b"\xc3\xa9",
    b"\xe2\x82",
    b"\xff",
    b"\x00",
    b"Key",
    b"Secret",
]


@needs_c
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=40),
    kind=st.sampled_from([0, _LF, _FOLLOWS, _LF | _FOLLOWS, _NOTERM, _LF | _NOTERM, -1]),
    keys=st.lists(st.sampled_from(["Event", "event", "Uniqueid", "Key", "x", "X", "", "é"])),
)
def test_the_twins_agree_on_generated_frames(pieces, kind, keys):
    frame = b"".join(pieces)
    assert_same(frame, kind, [*_keys_to_try(frame), *keys, "ChanVariable(IAX2/1.2.3.4:4569-1)"])


@needs_c
def test_c_core_odd_arguments_behave_like_python():
    for cls in (PyMessage, CMessage):
        msg = cls(bytearray(b"Event: A\r\nX: 1\r\n\r\n"))
        assert type(msg.raw) is bytes and msg.get("x") == "1" and msg.name == "A"
        assert msg.get(5) is None and msg.get(None, "d") == "d"
        assert cls(b"Event: A", _kind=0).name == "A"
        with pytest.raises(TypeError):
            msg.get()
        with pytest.raises(TypeError):
            cls(12345)
    # attributes the client sets
    msg = CMessage(b"Event: A")
    assert (msg.received_at, msg.seq, msg.connection) == (None, None, None)
    msg.seq = 3
    assert msg.seq == 3
    with pytest.raises(AttributeError):
        msg.other = 1  # slots only, as the Python twin


@needs_c
def test_the_twins_take_the_same_keyword_arguments():
    frame = b"Event: A\r\nX: 1\r\n\r\n"
    calls = [
        ((), {"key": "x"}),
        (("y",), {"default": "d"}),
        ((), {"key": "Y", "default": 0}),
        (("x",), {"default": None}),
        ((), {"default": "d", "key": "X"}),
    ]
    for args, kwargs in calls:
        results = [cls(frame).get(*args, **kwargs) for cls in (PyMessage, CMessage)]
        assert results[0] == results[1], (args, kwargs)
    assert CMessage(frame).get("y", default="d") == "d"
    for args, kwargs in [
        ((), {"default": "d"}),  # no key
        (("x",), {"key": "x"}),  # key twice
        (("x", "d"), {"default": "e"}),  # default twice
        (("x",), {"fallback": "d"}),  # unknown keyword
        (("x", "d", "e"), {}),  # too many
    ]:
        for cls in (PyMessage, CMessage):
            with pytest.raises(TypeError):
                cls(frame).get(*args, **kwargs)


@pytest.mark.slow
@needs_c
def test_protocol_suite_passes_on_the_pure_python_core():
    # The C core is optional: amikit without a compiler must behave the same.
    env = {**os.environ, "AMIKIT_PURE_PYTHON": "1"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "tests/protocol",
            "-k",
            "not pure_python_core",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout
