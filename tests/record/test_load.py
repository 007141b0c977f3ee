"""amikit.load / scan / convert give exactly the codec's view of every real capture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit.record import RecordingFormatError, convert, polars_schema
from amikit.record._convert import source_session
from amikit.record._files import read_capture
from amikit.record._load import IncompleteRecordingWarning, iter_text_rows
from tests.conftest import ASTERISK22, CAPTURES, TRANSCRIPTS
from tests.record.conftest import assert_same_rows, codec_messages, codec_rows

ALL = CAPTURES + TRANSCRIPTS
# transcripts that stop in the middle of a frame (the codec keeps those bytes pending too)
TRUNCATED = {
    "goami2_queue_status_transcript.txt",
    "originate_with_events.txt",
    "pjsip_show_endpoint.txt",
}


def load_quietly(path: Path) -> pl.DataFrame:
    if path.name in TRUNCATED:
        with pytest.warns(IncompleteRecordingWarning, match="truncated tail"):
            return amikit.load(path)
    return amikit.load(path)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_load_equals_codec_for_every_real_capture(path):
    want = codec_rows(codec_messages(read_capture(path)))
    got = load_quietly(path)
    assert got.schema == pl.Schema(polars_schema())
    assert_same_rows(got, want)
    assert got["seq"].to_list() == list(range(1, got.height + 1))
    assert got["server"].unique().to_list() == [path.name]
    assert (got.amikit_report.truncated_bytes > 0) == (path.name in TRUNCATED)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_small_chunks_give_the_same_rows(path):
    """Chunk boundaries (and the codec fallback on old Command output) change nothing."""
    data = read_capture(path)
    want = codec_rows(codec_messages(data))
    # about 12 chunks per file, at an odd size so boundaries fall anywhere
    chunk = max(777, len(data) // 12 | 1)
    got = pl.concat(list(iter_text_rows(path, chunk_bytes=chunk)))
    assert_same_rows(got, want)


def test_capture_without_fixture_header_and_with_it_load_the_same(tmp_path):
    src = ASTERISK22[1]  # a kinds/ capture
    bare = tmp_path / "bare.raw"
    bare.write_bytes(read_capture(src))
    commented = tmp_path / "commented.raw"
    commented.write_bytes(b"# a header\n# more\n\n" + read_capture(src))
    a, b = amikit.load(bare), amikit.load(commented)
    assert_same_rows(a, b)
    assert a.height == len(codec_messages(read_capture(src)))


def test_timing_file_gives_arrival_times(tmp_path):
    path = ASTERISK22[0]  # mixed60.raw + mixed60.timing.jsonl
    df = amikit.load(path)
    assert df["received_at"].null_count() == 0
    assert df["received_at"].is_sorted()
    # anchored on the first server Timestamp; arrival is never long after the event
    lag = (df["received_at"] - df["timestamp"]).dt.total_milliseconds().drop_nulls()
    assert lag.abs().max() < 1000
    # without the timing file there is no arrival time
    copy = tmp_path / "mixed60.raw"
    copy.write_bytes(path.read_bytes())
    assert amikit.load(copy)["received_at"].null_count() == df.height


@pytest.mark.parametrize("chunk", [None, 64 * 1024], ids=["16MiB", "64KiB"])
@pytest.mark.parametrize("path", [ASTERISK22[0], *TRANSCRIPTS[:3]], ids=lambda p: p.name)
def test_convert_then_load_and_scan_dataset(tmp_path, path, chunk):
    out = tmp_path / "ds"
    report = convert(path, out) if chunk is None else convert(path, out, chunk_bytes=chunk)
    want = load_quietly(path)
    assert report.frames == want.height
    got = amikit.load(out)
    # every converted row carries the source's session (one source, one session)
    assert got["session"].unique().to_list() == [source_session(path)]
    assert_same_rows(got.drop("session"), want.drop("session"), meta=True)
    # convert hands the writer categorical strings; every part still holds plain strings
    for part in out.glob("server=*/date=*/part-*.parquet"):
        assert pl.read_parquet_schema(part) == pl.Schema(polars_schema())
    lazy = amikit.scan(out)
    assert isinstance(lazy, pl.LazyFrame)
    hangups = lazy.filter(pl.col("event") == "Hangup").select("Uniqueid", "Cause").collect()
    assert hangups.height == want.filter(pl.col("event") == "Hangup").height
    assert list(out.glob("server=*/date=*/part-*.parquet"))


def test_convert_cli_shows_progress_and_converts(tmp_path):
    out = tmp_path / "ds"
    proc = subprocess.run(
        [sys.executable, "-m", "amikit", "convert", str(ASTERISK22[0]), "--to", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "100%" in proc.stderr and "MB/s" in proc.stderr
    assert amikit.load(out).height == len(codec_messages(read_capture(ASTERISK22[0])))


def test_convert_cli_rejects_a_non_ami_file(tmp_path):
    bad = tmp_path / "table.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    proc = subprocess.run(
        [sys.executable, "-m", "amikit", "convert", str(bad), "--to", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "not an AMI recording" in proc.stderr


@pytest.mark.parametrize(
    "content",
    [b"a,b,c\n1,2,3\n", b'{"Event": "Hangup"}\n', b"\x00\x01\x02binary", b"hello world\n"],
    ids=["csv", "json", "binary", "prose"],
)
def test_anything_else_is_a_clear_typed_error(tmp_path, content):
    path = tmp_path / "x.dat"
    path.write_bytes(content)
    with pytest.raises(RecordingFormatError, match="not an AMI recording"):
        amikit.load(path)
    with pytest.raises(ValueError):  # also a ValueError
        amikit.scan(path)


def test_missing_path_and_empty_directory_are_errors(tmp_path):
    with pytest.raises(RecordingFormatError, match="no such file"):
        amikit.load(tmp_path / "nope")
    with pytest.raises(RecordingFormatError, match="neither Parquet parts"):
        amikit.load(tmp_path)


def test_truncated_text_tail_is_reported_never_fatal(tmp_path):
    data = read_capture(ASTERISK22[1])
    whole = len(codec_messages(data))
    cut = tmp_path / "cut.raw"
    cut.write_bytes(data[: len(data) - 50])
    with pytest.warns(IncompleteRecordingWarning, match="truncated tail"):
        df = amikit.load(cut)
    assert df.height == whole - 1
    assert df.amikit_report.truncated_bytes > 0
    with pytest.raises(RecordingFormatError, match="truncated"):
        amikit.load(cut, strict=True)
