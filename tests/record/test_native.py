"""The native splitter (``amikit.record._columns``) equals the polars path, row for row.

Both paths are run on the same bytes: every capture in tests/data, random chunkings,
garbage, CR/LF storms, invalid UTF-8, huge lines and frames. The polars path is itself
compared with the codec (test_load, test_vector_edge_cases), and so is the native one
where the codec's view is cheap to get.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import polars as pl
import pytest

from amikit.record import _vector
from amikit.record._files import read_capture
from amikit.record._load import iter_text_rows
from amikit.record._vector import rows_from_buffer
from tests.conftest import CAPTURES, TRANSCRIPTS
from tests.record.conftest import assert_same_rows, codec_messages, codec_rows
from tests.record.test_vector_edge_cases import CASES

NATIVE = _vector.NATIVE
needs_native = pytest.mark.skipif(NATIVE is None, reason="amikit.record._columns not built")


@pytest.fixture
def pure(monkeypatch):
    """Run the polars path (as without the extension, or with AMIKIT_PURE_PYTHON=1)."""
    monkeypatch.setattr(_vector, "NATIVE", None)


def both(data: bytes, *, lf: bool = False, max_frame_size: int = 1 << 20):
    """rows_from_buffer through the native path and through the polars path."""
    # as the loader decides it for a whole file
    follows = b"Follows" + (b"\n" if lf else b"\r\n") in data
    got = rows_from_buffer(data, lf=lf, follows=follows, max_frame_size=max_frame_size)
    saved = _vector.NATIVE
    _vector.NATIVE = None
    try:
        want = rows_from_buffer(data, lf=lf, follows=follows, max_frame_size=max_frame_size)
    finally:
        _vector.NATIVE = saved
    return got, want


def assert_twins(data: bytes, *, lf: bool = False, max_frame_size: int = 1 << 20) -> None:
    (rows, used, stats), (rows_p, used_p, stats_p) = both(
        data, lf=lf, max_frame_size=max_frame_size
    )
    assert used == used_p
    assert (stats.frames, stats.errors) == (stats_p.frames, stats_p.errors)
    assert rows.columns == rows_p.columns
    assert rows.schema == rows_p.schema
    drop = ["frame"]
    if "\ufffd" in data[:used].decode("utf-8", "replace"):
        # The polars path sent the whole buffer to the codec (its Rule 2), which ends the
        # last frame at its own terminator, not after CR/LF left before the buffer's last
        # terminator ("B\r\n" + "\r\n\r\n"): only that offset may differ.
        drop.append("_end")
    assert_same_rows(rows.drop(drop), rows_p.drop(drop), meta=True)
    # convert's dictionary mode: the same strings, as categoricals
    follows = b"Follows" + (b"\n" if lf else b"\r\n") in data
    cat, used_c, stats_c = rows_from_buffer(
        data, lf=lf, follows=follows, max_frame_size=max_frame_size, categorical=True
    )
    assert used_c == used and (stats_c.frames, stats_c.errors) == (stats.frames, stats.errors)
    coded = [c for c, t in cat.schema.items() if isinstance(t, pl.Categorical)]
    assert set(coded) <= set(_vector._CODED)
    if NATIVE is not None and not follows and rows.height:
        assert coded, "the C splitter did not code the string columns"
    assert cat.with_columns(pl.col(coded).cast(pl.String)).equals(rows)


def file_rows(path) -> pl.DataFrame:
    chunks = list(iter_text_rows(path))
    return pl.concat(chunks) if chunks else pl.DataFrame()


def test_amikit_pure_python_turns_the_native_splitter_off():
    code = "from amikit.record import _vector; print(_vector.NATIVE is None)"
    env = {**os.environ, "AMIKIT_PURE_PYTHON": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


@needs_native
@pytest.mark.parametrize("path", CAPTURES + TRANSCRIPTS, ids=lambda p: p.name)
def test_every_capture_gives_the_same_rows(path):
    data = read_capture(path)
    nl = data.find(b"\n")
    lf = not (nl > 0 and data[nl - 1] == 13)
    if b"Follows" + (b"\n" if lf else b"\r\n") in data:
        pytest.skip("old Command output: the codec frames this stream (both paths)")
    first = data[: nl + 1].rstrip(b"\r\n")
    if first and b":" not in first:
        data = data[nl + 1 :]  # the banner
    assert_twins(data, lf=lf)


@needs_native
@pytest.mark.parametrize("path", CAPTURES + TRANSCRIPTS, ids=lambda p: p.name)
def test_random_chunkings_of_every_capture(path, tmp_path, pure, monkeypatch):
    want = file_rows(path)  # polars path (fixture)
    monkeypatch.setattr(_vector, "NATIVE", NATIVE)
    rng = random.Random(path.name)
    size = len(read_capture(path))
    for _ in range(3):  # 4 to 30 chunks, boundaries anywhere
        chunk = rng.randint(max(61, size // 30), max(97, size // 4))
        got = pl.concat(list(iter_text_rows(path, chunk_bytes=chunk)))
        assert_same_rows(got, want, meta=True)
    assert_same_rows(file_rows(path), codec_rows(codec_messages(read_capture(path))))


@needs_native
@pytest.mark.parametrize("name", list(CASES))
def test_edge_cases_equal_the_codec_and_the_polars_path(name, tmp_path):
    data = CASES[name]
    path = tmp_path / "capture.raw"
    path.write_bytes(data)
    want = codec_rows(codec_messages(data))
    for chunk in (1 << 20, 97, 13):
        got = list(iter_text_rows(path, chunk_bytes=chunk))
        assert_same_rows(pl.concat(got) if got else want.clear(), want)


@pytest.mark.parametrize("name", list(CASES))
def test_edge_cases_on_the_polars_path(name, tmp_path, pure):
    data = CASES[name]
    path = tmp_path / "capture.raw"
    path.write_bytes(data)
    want = codec_rows(codec_messages(data))
    got = list(iter_text_rows(path, chunk_bytes=97))
    assert_same_rows(pl.concat(got) if got else want.clear(), want)


def _random_text(rng: random.Random, n: int) -> bytes:
    pieces = [
        b"Event: Newchannel",
        b"Channel: PJSIP/1001-0000000",
        b"Uniqueid: 1700000000.12",
        b"Linkedid:1700000000.1",
        b"ActionID: a",
        b"Response: Success",
        b"Response: Follows",
        b"Action: Ping",
        b"Timestamp: 1700000000.123456",
        b"Timestamp: 1e9",
        b"Timestamp: ",
        b"event: x",
        b"ChanVariable(IAX2/1.2.3.4:5-1): a=b",
        b"ChanVariable(SIP/1): a=b",
        b"no colon here",
        b"Message:   spaced",
        b"Value:\ttab",
        b"X::",
        b":",
        b"Cause-txt: Normal Clearing",
        b"CallerIDName: Jos\xc3\xa9",
        b"CallerIDName: \xff\xfe",
        b"Data: \xe2\x82",
        b"",
        b"\r",
        b"\n",
        b"\r\n",
        b"\r\n\r\n",
        b"\n\n",
        b"\r\r\n",
        b"DialString: " + b"x" * 40,
    ]
    seps = [b"\r\n", b"\r\n", b"\r\n", b"\r\n\r\n", b"\n", b"\r\n\r\n\r\n", b"\r"]
    out = bytearray()
    while len(out) < n:
        out += rng.choice(pieces) + rng.choice(seps)
    return bytes(out) + b"\r\n\r\n"


@needs_native
@pytest.mark.parametrize("seed", range(40))
def test_garbage_storms_and_bad_bytes_give_the_same_rows(seed):
    rng = random.Random(seed)
    data = _random_text(rng, rng.randint(10, 4000))
    assert_twins(data)
    assert_twins(data.replace(b"\r\n", b"\n"), lf=True)
    assert_twins(data, max_frame_size=64 + seed)


@needs_native
def test_cr_lf_storms():
    for storm in (b"\r\n" * 5000, b"\n" * 5000, b"\r" * 5000, b"\r\n\r" * 3000):
        data = b"Event: A\r\n\r\n" + storm + b"Event: B\r\nChannel: c\r\n\r\n" + storm
        data += b"\r\n\r\n"
        assert_twins(data)
        assert_twins(data.replace(b"\r\n", b"\n"), lf=True)


@needs_native
def test_huge_lines_and_frames():
    big = b"x" * (3 << 20)
    data = (
        b"Event: A\r\nAppData: " + big + b"\r\n\r\n"
        b"Event: B\r\nChannel: c\r\n\r\n"
        b"Event: C\r\n" + b"Foo: bar\r\n" * 200_000 + b"\r\n"
        b"Event: D\r\n" + big[:900_000] + b": " + big[:100_000] + b"\r\n\r\n"
    )
    assert_twins(data)
    assert_twins(data, max_frame_size=1 << 30)


@needs_native
def test_invalid_utf8_goes_to_the_codec_frame_by_frame():
    data = b"Event: A\r\nChannel: \xff\r\n\r\nEvent: B\r\nChannel: ok\r\n\r\n"
    rows, used, stats = rows_from_buffer(data, lf=False, follows=False)
    assert used == len(data)
    assert stats.fallback == 1
    assert rows["Channel"].to_list() == ["\ufffd", "ok"]
    assert_twins(data)
    assert_same_rows(rows.drop("frame", "_end"), codec_rows(codec_messages(data)))


@needs_native
def test_a_torn_tail_is_left_for_the_next_buffer():
    data = b"Event: A\r\n\r\nEvent: B\r\nChannel: c\r\n"
    rows, used, _ = rows_from_buffer(data, lf=False, follows=False)
    assert used == len(b"Event: A\r\n\r\n")
    assert rows["event"].to_list() == ["A"]
    assert_twins(data)


@needs_native
def test_empty_and_terminator_only_buffers():
    for data in (b"", b"\r\n\r\n", b"\r\n\r\n\r\n\r\n", b"x"):
        assert_twins(data)


@needs_native
def test_contains_equals_bytes_in():
    rng = random.Random(5)
    for _ in range(2000):
        hay = bytes(rng.choice(b"Fows\r\nl") for _ in range(rng.randint(0, 90)))
        needle = bytes(rng.choice(b"Fows\r\nl") for _ in range(rng.randint(0, 9)))
        assert NATIVE.contains(hay, needle) == (needle in hay)
    assert NATIVE.contains(bytearray(b"xx Follows\r\n"), b"Follows\r\n")


@needs_native
def test_the_arrow_batch_survives_its_producer():
    """Columns keep their buffers alive after the call's other objects are gone."""
    data = b"Event: A\r\nChannel: SIP/long-channel-name-0001\r\nFoo: a long extra value\r\n\r\n"
    rows, _, _ = rows_from_buffer(bytearray(data), lf=False, follows=False)
    del data
    frames = [rows_from_buffer(b"Event: B\r\n\r\n" * 1000, lf=False, follows=False)[0]]
    del frames
    assert rows["Channel"].to_list() == ["SIP/long-channel-name-0001"]
    assert rows["extra"].to_list() == [[{"key": "Foo", "value": "a long extra value"}]]
