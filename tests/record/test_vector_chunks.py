"""The bulk converter (``amikit.record._vector``) equals the codec, row for row, however the
text is chunked: every capture in tests/data, random chunkings, garbage, CR/LF storms,
invalid UTF-8, huge lines and frames, and convert's categorical hand-over."""

from __future__ import annotations

import random

import polars as pl
import pytest

from amikit.record import _vector
from amikit.record._files import read_capture
from amikit.record._load import iter_text_rows
from amikit.record._vector import rows_from_buffer
from tests.conftest import CAPTURES, TRANSCRIPTS
from tests.record.conftest import assert_same_rows, codec_messages, codec_rows
from tests.record.test_vector_edge_cases import CASES


def file_rows(path) -> pl.DataFrame:
    chunks = list(iter_text_rows(path))
    return pl.concat(chunks) if chunks else pl.DataFrame()


def assert_like_the_codec(data: bytes) -> pl.DataFrame:
    """One buffer through the bulk path equals the codec; convert's categorical mode holds
    the same strings."""
    follows = b"Follows\r\n" in data
    rows, used, stats = rows_from_buffer(data, lf=False, follows=follows)
    assert_same_rows(rows.drop("frame", "_end"), codec_rows(codec_messages(data[:used])))
    cat, used_c, stats_c = rows_from_buffer(data, lf=False, follows=follows, categorical=True)
    assert used_c == used and (stats_c.frames, stats_c.errors) == (stats.frames, stats.errors)
    coded = [c for c, t in cat.schema.items() if isinstance(t, pl.Categorical)]
    assert set(coded) == set(_vector._CODED)
    assert cat.with_columns(pl.col(coded).cast(pl.String)).equals(rows)
    return rows


@pytest.mark.parametrize("path", CAPTURES + TRANSCRIPTS, ids=lambda p: p.name)
def test_random_chunkings_of_every_capture(path):
    want = file_rows(path)
    rng = random.Random(path.name)
    size = len(read_capture(path))
    for _ in range(3):  # 4 to 30 chunks, boundaries anywhere
        chunk = rng.randint(max(61, size // 30), max(97, size // 4))
        got = pl.concat(list(iter_text_rows(path, chunk_bytes=chunk)))
        assert_same_rows(got, want, meta=True)
    assert_same_rows(file_rows(path), codec_rows(codec_messages(read_capture(path))))


@pytest.mark.parametrize("name", list(CASES))
def test_edge_cases_equal_the_codec_at_any_chunk_size(name, tmp_path):
    data = CASES[name]
    path = tmp_path / "capture.raw"
    path.write_bytes(data)
    want = codec_rows(codec_messages(data))
    for chunk in (1 << 20, 97, 13):
        got = list(iter_text_rows(path, chunk_bytes=chunk))
        assert_same_rows(pl.concat(got) if got else want.clear(), want)


def _random_text(rng: random.Random, n: int) -> bytes:
    pieces = [
        b"Event: Newchannel",
        b"Channel: PJSIP/1001-0000000",
        b"Uniqueid: 1700000000.12",
        b"Linkedid:1700000000.1",
        b"ActionID: a",
        b"Response: Success",
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
        b"",
        b"\r",
        b"\r\n",
        b"\r\n\r\n",
        b"\r\r\n",
        b"DialString: " + b"x" * 40,
    ]
    seps = [b"\r\n", b"\r\n", b"\r\n", b"\r\n\r\n", b"\r\n\r\n\r\n", b"\r"]
    out = bytearray()
    while len(out) < n:
        out += rng.choice(pieces) + rng.choice(seps)
    return bytes(out) + b"\r\n\r\n"


@pytest.mark.parametrize("seed", range(40))
def test_garbage_gives_the_codecs_rows(seed):
    rng = random.Random(seed)
    assert_like_the_codec(_random_text(rng, rng.randint(10, 4000)))


def test_cr_lf_storms():
    for storm in (b"\r\n" * 5000, b"\r" * 5000, b"\r\n\r" * 3000):
        data = b"Event: A\r\n\r\n" + storm + b"Event: B\r\nChannel: c\r\n\r\n" + storm
        assert_like_the_codec(data + b"\r\n\r\n")


def test_huge_lines_and_frames():
    big = b"x" * (3 << 20)
    data = (
        b"Event: A\r\nAppData: " + big + b"\r\n\r\n"
        b"Event: B\r\nChannel: c\r\n\r\n"
        b"Event: C\r\n" + b"Foo: bar\r\n" * 200_000 + b"\r\n"
    )
    assert_like_the_codec(data)


def test_invalid_utf8_goes_to_the_codec():
    data = b"Event: A\r\nChannel: \xff\r\n\r\nEvent: B\r\nChannel: ok\r\n\r\n"
    rows = assert_like_the_codec(data)
    assert rows["Channel"].to_list() == ["\ufffd", "ok"]


def test_a_torn_tail_is_left_for_the_next_buffer():
    data = b"Event: A\r\n\r\nEvent: B\r\nChannel: c\r\n"
    rows, used, _ = rows_from_buffer(data, lf=False, follows=False)
    assert used == len(b"Event: A\r\n\r\n")
    assert rows["event"].to_list() == ["A"]


def test_empty_and_terminator_only_buffers():
    for data in (b"", b"\r\n\r\n", b"\r\n\r\n\r\n\r\n", b"x"):
        rows, _, _ = rows_from_buffer(data, lf=False, follows=False)
        assert rows.height == 0
        cat, _, _ = rows_from_buffer(data, lf=False, follows=False, categorical=True)
        assert cat.height == 0
