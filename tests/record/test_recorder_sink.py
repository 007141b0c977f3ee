"""The recording sink: text log + Parquet, losing nothing, surviving kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit.protocol import Message, Parser
from amikit.record import convert
from amikit.record._files import read_capture
from amikit.record._load import IncompleteRecordingWarning
from amikit.record._recorder import RecordingSink
from amikit.record._textlog import TextLogWriter, index_path
from tests.conftest import ASTERISK22, CAPTURES
from tests.record.conftest import assert_same_rows, codec_messages, codec_rows

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)


def stamped(path: Path, connection: int = 1) -> list[Message]:
    """The capture's messages as a client would deliver them (time, seq, connection)."""
    out = codec_messages(read_capture(path))
    for i, m in enumerate(out, 1):
        m.seq, m.connection = i, connection
        m.received_at = T0 + timedelta(milliseconds=i)
    return out


def expected(messages: list[Message], server: str, session: str | None = None) -> pl.DataFrame:
    return codec_rows(messages).with_columns(
        pl.Series("received_at", [m.received_at for m in messages], dtype=pl.Datetime("us", "UTC")),
        pl.lit(server).alias("server"),
        pl.lit(session, dtype=pl.String).alias("session"),
        pl.Series("connection", [m.connection for m in messages], dtype=pl.Int32),
        pl.Series("seq", [m.seq for m in messages], dtype=pl.Int64),
    )


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_record_then_load_equals_the_codec(tmp_path, path):
    """load(record(x)) == parse(x): the dataset, the text log, and the directory."""
    messages = stamped(path)
    with RecordingSink(tmp_path, server="pbx:5038", flush_events=400) as sink:
        for m in messages:
            sink.put(m)
    want = expected(messages, "pbx:5038", sink.session)
    assert_same_rows(amikit.load(tmp_path), want, meta=True)
    assert_same_rows(amikit.load(tmp_path / "ami-log.txt"), want, meta=True)
    # the text log is the frames exactly as received, and replays byte for byte
    log = (tmp_path / "ami-log.txt").read_bytes()
    assert log == b"".join(m.raw for m in messages)
    replay = Parser().feed(log)
    assert [m.raw for m in replay] == [m.raw for m in messages]
    assert sink.received == sink.text_written == sink.parquet_written == len(messages)


def test_parts_are_flushed_by_count_and_partitioned(tmp_path):
    messages = stamped(ASTERISK22[0])
    with RecordingSink(tmp_path, server="10.0.0.1:5038", flush_events=1000) as sink:
        for m in messages:
            sink.put(m)
        sink.flush()
        parts = sorted(tmp_path.glob("server=*/date=*/part-*.parquet"))
        assert parts, "flush() publishes a part"
    parts = sorted(tmp_path.glob("server=*/date=*/part-*.parquet"))
    assert {p.parent.parent.name for p in parts} == {"server=10.0.0.1%3A5038"}
    assert {p.parent.name for p in parts} == {"date=2026-01-02"}
    assert not list(tmp_path.rglob("*.tmp"))
    # polars reads the Hive layout directly too
    hive = pl.scan_parquet(tmp_path / "**" / "*.parquet", hive_partitioning=True).collect()
    assert hive.height == len(messages)


def test_flush_by_time_and_tail_f_sees_an_event_within_a_second(tmp_path):
    sink = RecordingSink(tmp_path, server="s:1", flush_events=10**6, flush_seconds=0.3)
    sink.start()
    try:
        msg = stamped(ASTERISK22[1])[5]
        sink.put(msg)
        log = tmp_path / "ami-log.txt"
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and msg.raw not in log.read_bytes():
            time.sleep(0.02)
        assert msg.raw in log.read_bytes(), "not visible to tail -f within 1 s"
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not list(tmp_path.rglob("part-*.parquet")):
            time.sleep(0.05)
        assert amikit.load(tmp_path).height == 1
    finally:
        sink.stop()


def test_gap_rows_in_their_place(tmp_path):
    first = stamped(ASTERISK22[1], connection=1)[:5]
    second = stamped(ASTERISK22[1], connection=2)[5:9]
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=4)
    with RecordingSink(tmp_path, server="s:1") as sink:
        for m in first:
            sink.put(m)
        sink.put_gap(connection=2, gap_start=start, gap_end=end, reason="connection reset", at=end)
        for m in second:
            sink.put(m)
    for source in (tmp_path, tmp_path / "ami-log.txt"):
        df = amikit.load(source)
        assert df["kind"].to_list() == ["response"] + ["event"] * 4 + ["gap"] + ["event"] * 4 or (
            df["kind"].to_list()[5] == "gap"
        )
        gap = df.row(5, named=True)
        assert gap["event"] == "Gap" and gap["connection"] == 2
        extra = {e["key"]: e["value"] for e in gap["extra"]}
        assert extra == {
            "GapStart": start.isoformat(),
            "GapEnd": end.isoformat(),
            "Reason": "connection reset",
        }
        assert df["connection"].to_list() == [1] * 5 + [2] * 5
    # the text log with its gap, converted: the same rows (gap rows join convert's chunks)
    convert(tmp_path / "ami-log.txt", tmp_path / "converted")
    converted = amikit.load(tmp_path / "converted")
    # the converted rows carry the session of their source; the text log has none
    assert converted["session"].null_count() == 0
    assert converted.drop("session").equals(amikit.load(tmp_path / "ami-log.txt").drop("session"))


def test_include_and_exclude(tmp_path):
    messages = stamped(ASTERISK22[0])
    with RecordingSink(tmp_path / "a", include=["Newchannel", "Hangup*"]) as sink:
        for m in messages:
            sink.put(m)
    names = set(amikit.load(tmp_path / "a").filter(pl.col("kind") == "event")["event"])
    assert names == {"Newchannel", "Hangup", "HangupRequest", "HangupHandlerPush"} & names
    assert "Newchannel" in names and "Hangup" in names and "VarSet" not in names
    with RecordingSink(tmp_path / "b", exclude="varset") as sink:
        for m in messages:
            sink.put(m)
    df = amikit.load(tmp_path / "b")
    assert "VarSet" not in set(df["event"])
    assert df.height == sum(1 for m in messages if m.name != "VarSet")


def test_login_never_recorded_and_secrets_masked(tmp_path):
    with RecordingSink(tmp_path, server="s:1") as sink:
        sink.record_action([("Action", "Login"), ("Username", "admin"), ("Secret", "hunter2")])
        sink.record_action([("Action", "Challenge"), ("AuthType", "MD5")])
        sink.record_action(
            [("Action", "Originate"), ("Channel", "Local/1@x"), ("Variable", "Secret=hunter2")]
        )
        sink.record_action([("Action", "Login"), ("AuthType", "MD5"), ("Key", "abc123")])
        sink.record_action([("Action", "Custom"), ("Secret", "hunter2"), ("key", "abc123")])
    text = (tmp_path / "ami-log.txt").read_bytes()
    assert b"Login" not in text and b"Challenge" not in text
    assert b"abc123" not in text
    df = amikit.load(tmp_path)
    assert df["event"].to_list() == ["Originate", "Custom"]
    blob = str(df.to_dicts()) + text.decode()
    assert "abc123" not in blob
    custom = {e["key"]: e["value"] for e in df.row(1, named=True)["extra"]}
    assert custom["Secret"] == "********" and custom["key"] == "********"
    for part in tmp_path.rglob("*.parquet"):
        assert b"abc123" not in part.read_bytes()


def test_text_log_rotation_by_size(tmp_path):
    messages = stamped(ASTERISK22[1])
    with RecordingSink(tmp_path, parquet=False, rotate_bytes=50_000) as sink:
        for m in messages:
            sink.put(m)
    logs = sorted(tmp_path.glob("ami-log*.txt"))
    assert len(logs) >= 3
    assert all(index_path(p).exists() for p in logs)
    # a directory of text logs loads in order, nothing lost
    assert_same_rows(amikit.load(tmp_path), expected(messages, None), meta=False)
    assert amikit.load(tmp_path)["seq"].to_list() == [m.seq for m in messages]


def test_text_log_append_after_a_torn_tail(tmp_path):
    messages = stamped(ASTERISK22[1])[:20]
    log = tmp_path / "ami-log.txt"
    writer = TextLogWriter(log, server="s:1")
    for m in messages[:10]:
        writer.write(m.raw, seq=m.seq, connection=1, received_at=m.received_at)
    writer.close()
    with open(log, "ab") as fh:  # a crash in the middle of a frame
        fh.write(messages[10].raw[:17])
    with open(index_path(log), "a") as fh:
        fh.write('{"offset": 12')
    with pytest.warns(IncompleteRecordingWarning, match="truncated tail"):
        assert amikit.load(log).height == 10
    writer = TextLogWriter(log, server="s:1")
    for m in messages[10:]:
        writer.write(m.raw, seq=m.seq, connection=1, received_at=m.received_at)
    writer.close()
    df = amikit.load(log)
    assert_same_rows(df, expected(messages, "s:1"), meta=True)
    assert [m.raw for m in Parser().feed(log.read_bytes())] == [m.raw for m in messages]


def test_torn_and_tmp_parts_are_skipped_and_reported(tmp_path):
    messages = stamped(ASTERISK22[1])
    with RecordingSink(tmp_path, server="s:1", flush_events=100) as sink:
        for m in messages:
            sink.put(m)
    parts = sorted(tmp_path.rglob("part-*.parquet"))
    last = parts[-1]
    lost = pl.read_parquet(last).height
    last.write_bytes(last.read_bytes()[:-100])  # torn, as a half-copied file would be
    (last.parent / ".part-x.parquet.tmp").write_bytes(b"PAR1 half written")
    with pytest.warns(IncompleteRecordingWarning) as caught:
        df = amikit.load(tmp_path, complete=False)
    said = [str(w.message) for w in caught]
    assert any("incomplete part" in m for m in said)
    # the torn part's rows are still in the text log: the load says so, and (by default)
    # adds them
    assert any(f"holds {lost} frame(s) newer than the last Parquet part" in m for m in said)
    with pytest.warns(IncompleteRecordingWarning, match="incomplete part"):
        assert amikit.load(tmp_path).height == len(messages)
    assert df.height == len(messages) - lost
    assert df.amikit_report.torn_parts == [str(last)]
    assert df["seq"].to_list() == list(range(1, df.height + 1))
    with pytest.raises(amikit.record.RecordingFormatError):
        amikit.load(tmp_path, strict=True, complete=False)
    with pytest.warns(IncompleteRecordingWarning):
        assert amikit.scan(tmp_path).select(pl.len()).collect().item() == df.height


@pytest.mark.slow
def test_kill_9_mid_stream_loses_at_most_one_flush_interval(tmp_path):
    flush_events = 1000
    child = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "record" / "_replay_recorder.py"),
            str(ASTERISK22[0]),
            str(tmp_path),
            str(flush_events),
            "0.3",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    seen = published = 0
    try:
        for line in child.stdout:  # type: ignore[union-attr]
            _, put, _, parquet = line.split()
            seen, published = int(put), int(parquet)
            if published >= 3 * flush_events and seen >= 6000:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
        child.stdout.close()  # type: ignore[union-attr]
    assert published > 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = amikit.load(tmp_path, complete=False)  # loads, however the process died
    tail = df.amikit_report.tail_frames  # what the text log holds beyond the last part
    said = [str(w.message) for w in caught]
    assert bool(tail) == any(f"holds {tail} frame(s) newer" in m for m in said), said
    assert df.height >= published, "everything reported as published is on disk"
    assert df.height >= seen - 2 * flush_events, (df.height, seen)
    assert df["seq"].to_list() == list(range(1, df.height + 1)), "an exact prefix, in order"
    messages = codec_messages(read_capture(ASTERISK22[0]))
    n = min(df.height, len(messages))
    assert_same_rows(df.head(n), codec_rows(messages[:n]))
    # the text log too: at most a torn last frame (reported, never fatal); frames whose
    # index line was not flushed yet still load and continue the sequence
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteRecordingWarning)
        text = amikit.load(tmp_path / "ami-log.txt")
    assert text.height >= df.height
    assert text["seq"].to_list() == list(range(1, text.height + 1))
    assert_same_rows(text.head(n), codec_rows(messages[:n]))
    assert text.height == df.height + tail
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteRecordingWarning)
        full = amikit.load(tmp_path)
    assert_same_rows(full, text)
    assert full["seq"].to_list() == text["seq"].to_list()


def test_text_log_rotation_by_time(tmp_path):
    messages = stamped(ASTERISK22[1])[:4]
    sink = RecordingSink(tmp_path, parquet=False, rotate_seconds=0.2)
    sink.start()
    try:
        sink.put(messages[0])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(list(tmp_path.glob("ami-log-*.txt"))) < 1:
            time.sleep(0.05)
        assert list(tmp_path.glob("ami-log-*.txt")), "no rotation within 5 s"
        for m in messages[1:]:
            sink.put(m)
    finally:
        sink.stop()
    assert amikit.load(tmp_path)["seq"].to_list() == [m.seq for m in messages]


def test_import_stays_light():
    code = (
        "import sys, amikit, amikit.record, amikit.record._recorder; "
        "assert 'polars' not in sys.modules, 'polars loaded'; "
        "amikit.Recorder, amikit.load, amikit.scan"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_transform_shapes_the_parquet_rows_and_the_text_log_keeps_every_frame(tmp_path):
    from amikit.analysis import drop_noise

    with pytest.raises(amikit.UsageError, match="transform"):
        RecordingSink(tmp_path, transform="drop_noise")
    messages = stamped(ASTERISK22[0])
    with RecordingSink(tmp_path / "n", transform=drop_noise) as sink:
        for m in messages:
            sink.put(m)
    df = amikit.load(tmp_path / "n")
    assert 0 < df.height < len(messages)
    assert "VarSet" not in set(df["event"])


def test_collapse_folds_repeats_in_the_dataset_only(tmp_path):
    from amikit.analysis import collapse

    messages = stamped(ASTERISK22[1])
    twice = []
    for m in messages:  # every event delivered twice (a duplicate delivery)
        twice += [m, m]
    with RecordingSink(tmp_path, transform=collapse) as sink:
        for m in twice:
            sink.put(m)
    df = amikit.load(tmp_path)
    assert df.height <= len(messages)
    assert amikit.load(tmp_path / "ami-log.txt").height == len(twice)


def _repeats() -> list[Message]:
    """Newchannel, DialEnd CANCEL x5, Hangup, UserEvent x7: two runs of repeats."""
    frames = (
        [[("Event", "Newchannel"), ("Channel", "PJSIP/1-1"), ("Uniqueid", "1.1")]]
        + [[("Event", "DialEnd"), ("Channel", "PJSIP/1-1"), ("DialStatus", "CANCEL")]] * 5
        + [[("Event", "Hangup"), ("Channel", "PJSIP/1-1"), ("Cause", "16")]]
        + [[("Event", "UserEvent"), ("UserEvent", "Tick")]] * 7
    )
    out = [Message.from_pairs(pairs) for pairs in frames]
    for i, m in enumerate(out, 1):
        m.seq, m.connection = i, 1
        m.received_at = T0 + timedelta(milliseconds=10 * i)
    return out


@pytest.mark.parametrize(
    ("flush_after", "counts"),
    [((), [1, 5, 1, 7]), ((3, 10), [1, 3, 2, 1, 4, 3])],
    ids=["one flush", "runs split by flushes"],
)
def test_collapse_keeps_the_run_length_and_times_in_the_parquet_rows(tmp_path, flush_after, counts):
    from amikit.analysis import collapse

    messages = _repeats()
    with RecordingSink(tmp_path, transform=collapse) as sink:
        for i, m in enumerate(messages):
            sink.put(m)
            if i in flush_after:
                sink.flush()
    df = amikit.load(tmp_path)
    assert df["count"].to_list() == counts
    part = sorted(tmp_path.rglob("*.parquet"))[0]  # one part alone keeps them too
    assert amikit.load(part)["count"].to_list() == counts[: amikit.load(part).height]
    assert {"count", "first", "last"} <= set(df.columns)
    assert df["count"].sum() == len(messages)  # every event is counted in some row
    again = collapse(df)  # joins runs that a flush boundary split
    runs = {r["event"]: r for r in again.iter_rows(named=True)}
    assert again["event"].to_list() == ["Newchannel", "DialEnd", "Hangup", "UserEvent"]
    assert runs["DialEnd"]["count"] == 5 and runs["UserEvent"]["count"] == 7
    assert runs["DialEnd"]["first"] == messages[1].received_at
    assert runs["DialEnd"]["last"] == messages[5].received_at
    assert runs["UserEvent"]["last"] == messages[-1].received_at
    # the text log is still every frame as received
    assert amikit.load(tmp_path / "ami-log.txt").height == len(messages)


def test_an_uncollapsed_recording_has_no_run_columns(tmp_path):
    with RecordingSink(tmp_path) as sink:
        for m in _repeats():
            sink.put(m)
    assert "count" not in amikit.load(tmp_path).columns
