"""Fuzzing the codec: random and mutated real traffic, at random chunkings.

What must hold for ANY input (Parser rules 1, 5, 6; Message rules 1-5):

* ``feed`` raises nothing but :class:`RemoteProtocolError`, and the messages decoded in a call
  that raises are in ``err.messages`` (so, added up, nothing is lost);
* memory is bounded: ``parser.buffered`` never exceeds ``max_frame_size`` (plus the three
  bytes kept to see a terminator split across reads);
* every message is a contiguous, in-order piece of the input, and every read of it works
  (``name``, ``items``, ``to_dict``, ``output``, ``repr``...);
* ``get(k)`` always agrees with ``getall(k)`` (the byte scan and the decoded view are one
  rule), ``to_dict()`` with ``items()``;
* when no frame can be oversized (input smaller than ``max_frame_size``), the chunking does
  not change the result.

And ``encode_message`` -> ``Parser`` -> ``items()`` round-trips any pairs it accepts.

The inputs come from hypothesis (shrinkable) and from a seeded ``random.Random`` sweep over
every capture (broad and reproducible); both are bounded to keep the suite fast.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amikit.protocol import (
    LocalProtocolError,
    Message,
    Parser,
    RemoteProtocolError,
    encode_message,
)
from amikit.record._files import read_capture
from tests.conftest import CAPTURES, TRANSCRIPTS

SLACK = 3  # bytes of a possibly split terminator kept while skipping an oversized frame

# A few KiB from every capture, cut at a frame boundary: the material the mutators work on.
WINDOWS: list[bytes] = []
for _path in CAPTURES + TRANSCRIPTS:
    _data = read_capture(_path)
    _start = random.Random(_path.name).randrange(max(1, len(_data) - 6000))
    _start = _data.find(b"\r\n\r\n", _start) + 4 if _start else 0
    WINDOWS.append(_data[_start : _start + 6000])


# -- feeding and checking ---------------------------------------------------------------


def feed_in_chunks(
    data: bytes, sizes: list[int], max_frame_size: int
) -> tuple[list[Message], int, Parser]:
    """Feed ``data`` cut by ``sizes`` (cycled); return messages, errors raised, parser."""
    parser = Parser(max_frame_size=max_frame_size)
    messages: list[Message] = []
    errors = 0
    pos = 0
    turn = 0
    while pos < len(data):
        size = sizes[turn % len(sizes)]
        turn += 1
        try:
            messages += parser.feed(data[pos : pos + size])
        except RemoteProtocolError as exc:  # anything else fails the test
            errors += 1
            messages += exc.messages
        pos += size
        assert parser.buffered <= max_frame_size + SLACK
    return messages, errors, parser


def check_message(msg: Message) -> None:
    """Every read works, and the two lookup paths agree."""
    raw = msg.raw
    assert raw.endswith((b"\r\n\r\n", b"\n\n"))
    items = msg.items()
    assert items, "a message has at least one header"
    assert len(msg) == len(items)
    for text in (repr(msg), str(msg), msg._repr_html_()):
        assert isinstance(text, str)
    assert isinstance(msg.name, str)
    assert isinstance(msg.output, list)
    assert msg.is_event == (msg.get("Event") is not None)
    assert not (msg.is_event and msg.is_response) and not (msg.is_event and msg.is_action)
    assert msg.is_hybrid == (msg.is_event and msg.get("Response") is not None)
    assert msg.action_id == msg.get("ActionID")
    assert not msg.is_list_start or msg.is_response
    assert not msg.is_list_end or msg.is_event
    assert msg.server_time is None or msg.server_time.tzinfo is not None
    assert msg == Message(raw, msg._kind & 3)  # same bytes, same kind: same message
    expected: dict[str, list[str]] = {}
    for k, v in items:
        expected.setdefault(k, []).append(v)
    # to_dict() straight from the bytes (a fresh message) and from the cached items
    for as_dict in (Message(raw, msg._kind & 3).to_dict(), msg.to_dict()):
        assert {k: v if isinstance(v, list) else [v] for k, v in as_dict.items()} == expected
        assert list(as_dict) == list(expected)
    probes = {k for k, _ in items} | {"Event", "Uniqueid", "Linkedid", "ActionID", "Nope"}
    for key in list(probes):
        probes |= {key.upper(), key.lower(), key.swapcase()}
    for key in probes:
        values = msg.getall(key)
        assert msg.get(key) == (values[0] if values else None), key
        assert (key in msg) == bool(values)


def check_stream(data: bytes, messages: list[Message]) -> None:
    """Each message is a contiguous piece of the input, in order, none invented."""
    pos = 0
    for msg in messages:
        at = data.find(msg.raw, pos)
        assert at >= 0, msg.raw[:80]
        pos = at + len(msg.raw)
        check_message(msg)


# -- mutators ---------------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random, max_frame_size: int) -> bytes:
    """Apply one to four random damages of the kinds a broken link or server produces."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(10)
        at = rng.randint(0, len(buf))
        if kind == 0 and buf:  # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(buf))
                buf[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # delete a range
            del buf[at : at + rng.randint(1, 64)]
        elif kind == 2:  # duplicate a range
            buf[at:at] = buf[at : at + rng.randint(1, 200)]
        elif kind == 3:  # insert random bytes
            buf[at:at] = rng.randbytes(rng.randint(1, 64))
        elif kind == 4:  # truncate
            del buf[at:]
        elif kind == 5:  # a huge line, bigger than any frame may be
            buf[at:at] = b"Huge: " + b"x" * rng.randint(max_frame_size, 3 * max_frame_size)
        elif kind == 6:  # CR/LF storm
            buf[at:at] = bytes(rng.choice(b"\r\n") for _ in range(rng.randint(1, 200)))
        elif kind == 7:  # an old-style Command reply, terminated or not
            body = b"Response: Follows\r\nPrivilege: Command\r\nline\n\nmore: text\n"
            buf[at:at] = body + (b"--END COMMAND--\r\n\r\n" if rng.random() < 0.5 else b"")
        elif kind == 8:  # invalid and split UTF-8
            buf[at:at] = rng.choice([b"\xff\xfe", b"\xc3", b"\xe6\x97", "Zoë 日本".encode()])
        else:  # odd key spellings and legacy keys
            buf[at:at] = rng.choice(
                [
                    b"\r\nUNIQUEID: a\r\nUniqueid: b",
                    b"\r\nChanVariable(IAX2/10.0.0.1:4569-3): X=1",
                    b"\r\nKey:no-blank\r\n:empty key\r\nno colon here",
                    b"\nLinkedid: bare-lf",
                ]
            )
    return bytes(buf)


# -- properties over damaged input ------------------------------------------------------

chunk_sizes = st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=12)
small_limits = st.integers(min_value=64, max_value=600)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), sizes=chunk_sizes, limit=small_limits)
def test_random_bytes_raise_only_remote_protocol_error_with_bounded_memory(data, sizes, limit):
    messages, _, _ = feed_in_chunks(data, sizes, limit)
    check_stream(data, messages)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=len(WINDOWS) - 1),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    sizes=chunk_sizes,
    limit=small_limits,
    lf=st.booleans(),
)
def test_mutated_captures_raise_only_remote_protocol_error(index, seed, sizes, limit, lf):
    data = WINDOWS[index]
    if lf:
        data = data.replace(b"\r\n", b"\n")
    data = mutate(data, random.Random(seed), limit)
    messages, _, _ = feed_in_chunks(data, sizes, limit)
    check_stream(data, messages)


def test_seeded_sweep_over_every_capture():
    """Reproducible breadth: every capture window, many damages and chunkings."""
    rng = random.Random(20261126)
    for window in WINDOWS:
        for _ in range(6):
            limit = rng.choice([64, 200, 1024, 4096])
            data = mutate(window, rng, limit)
            sizes = [rng.choice([1, 2, 3, 7, 64, 500, 4096, 70000]) for _ in range(5)]
            messages, _, _ = feed_in_chunks(data, sizes, limit)
            check_stream(data, messages)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=len(WINDOWS) - 1),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    sizes=chunk_sizes,
)
def test_chunking_never_changes_the_result_when_no_frame_can_be_oversized(index, seed, sizes):
    rng = random.Random(seed)
    data = mutate(WINDOWS[index], rng, 100)
    limit = len(data) + 64  # nothing can exceed it, so no frame is dropped for its size
    whole, _, whole_parser = feed_in_chunks(data, [len(data) or 1], limit)
    chunked, _, chunked_parser = feed_in_chunks(data, sizes, limit)
    assert [m.raw for m in chunked] == [m.raw for m in whole]
    assert [m.items() for m in chunked] == [m.items() for m in whole]
    assert chunked_parser.errors == whole_parser.errors
    assert chunked_parser.banner == whole_parser.banner
    assert chunked_parser.buffered == whole_parser.buffered


def test_messages_decoded_before_an_error_are_in_the_error():
    good = encode_message([("Event", "A")])
    bad = b"Event: Big\r\nData: " + b"y" * 300 + b"\r\n\r\n"
    garbage = b"no header at all\r\n\r\n"
    parser = Parser(max_frame_size=128)
    with pytest.raises(RemoteProtocolError) as info:
        parser.feed(good + bad + good + garbage + good)
    assert [m.raw for m in info.value.messages] == [good, good, good]
    assert parser.errors == 2 and parser.buffered == 0


# -- encode -> parse round trip ---------------------------------------------------------

# Keys the encoder accepts: no CR/LF, no colon, no blank at either end, no unclosed "(".
keys = st.text(
    alphabet=st.characters(blacklist_characters=":\r\n", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
).filter(lambda k: k.strip() == k and ("(" not in k or ")" in k))
# Values: anything without CR/LF that does not start with a blank (AMI cannot carry a
# leading blank: readers, Asterisk's included, skip it), colons and non-ASCII included.
values = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
    max_size=40,
).filter(lambda v: not v.startswith((" ", "\t")))


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(keys, values), min_size=1, max_size=12), sizes=chunk_sizes)
def test_encode_then_parse_round_trips(pairs, sizes):
    if pairs[0] == ("Response", "Follows"):  # that first line means an old Command reply
        pairs[0] = ("Response", "Success")
    data = encode_message(pairs)
    messages, errors, parser = feed_in_chunks(data, sizes, 1 << 20)
    assert errors == 0 and parser.buffered == 0
    (msg,) = messages
    assert msg.items() == pairs
    assert msg.raw == data
    assert Message.from_pairs(pairs).items() == pairs
    check_message(msg)


def test_encoder_refuses_what_cannot_round_trip():
    for pairs in (
        [("A(b", "x): y")],  # would read back as key "A(b: x)"
        [("Key", "lone \udc80 surrogate")],  # not encodable as UTF-8
        [("Ke\udc80y", "v")],
    ):
        with pytest.raises(LocalProtocolError):
            encode_message(pairs)
    legacy = [("ChanVariable(IAX2/10.0.0.1:4569-3)", "FOO=bar:baz")]
    assert Parser().feed(encode_message(legacy))[0].items() == legacy


def test_a_leading_blank_in_a_value_is_not_carried():
    (msg,) = Parser().feed(encode_message([("Event", "X"), ("A", "  padded  ")]))
    assert msg.get("A") == "padded  " and msg.items()[1] == ("A", "padded  ")
