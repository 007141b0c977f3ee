"""Crash-consistent reading (issue 16, point 2).

* Small Parquet parts published at the text log's pace, compacted later; a crash during
  compaction leaves no duplicate rows.
* ``load(dir)`` of a recording whose text log holds frames newer than its last part says
  how many with ``complete=False``; by default (``complete=True``) it adds them.
* kill -9 of a real ``amikit record``: both losses measured, the dataset's no worse than
  the text log's by more than one flush.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
import warnings
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

import amikit
from amikit.record import DatasetWriter, RecordingFormatError
from amikit.record._dataset import list_parts
from amikit.record._load import IncompleteRecordingWarning
from tests.conftest import ASTERISK22
from tests.record.conftest import assert_same_rows


def test_compaction_replaces_small_parts_and_a_crash_midway_leaves_no_duplicates(tmp_path):
    rows = amikit.load(ASTERISK22[0])
    writer = DatasetWriter(tmp_path / "ds")
    small = []
    for chunk in rows.iter_slices(200):
        small += writer.write(chunk)
    assert len(small) >= 3
    kept = tmp_path / "kept"
    kept.mkdir()
    for part in small:
        shutil.copy(part, kept / part.name)
    (compacted,) = writer.compact(small)
    assert list_parts(tmp_path / "ds") == [compacted]
    assert amikit.load(tmp_path / "ds").equals(rows)
    # a crash between publishing the compacted part and removing the small ones
    for part in small:
        shutil.copy(kept / part.name, part)
    assert list_parts(tmp_path / "ds") == [compacted]
    assert amikit.load(tmp_path / "ds").equals(rows)


def test_the_recorder_compacts_its_parts(tmp_path):
    from amikit.protocol import Parser
    from amikit.record._files import read_capture
    from amikit.record._recorder import RecordingSink

    msgs = Parser().feed(read_capture(ASTERISK22[0]))
    sink = RecordingSink(tmp_path, server="s:1", flush_events=50, compact_parts=4)
    with sink:
        for m in msgs:
            sink.put(m)
            if sink.received % 50 == 0:
                sink.flush()
    parts = list_parts(tmp_path)
    published = -(-len(msgs) // 50)
    assert published >= 8
    assert len(parts) <= published // 4 + 1  # one per 4 small parts (and the rest at stop)
    assert sum(not p.name.endswith("c.parquet") for p in parts) <= 1
    df = amikit.load(tmp_path)
    assert df.height == len(msgs)
    assert df["seq"].to_list() == pl.Series([m.seq for m in msgs]).to_list()


def _text_frames(log) -> int:
    from amikit.protocol import Parser, RemoteProtocolError

    try:
        return len(Parser().feed(log.read_bytes()))
    except RemoteProtocolError as exc:
        return len(exc.messages)


@pytest.mark.slow
def test_kill_9_of_amikit_record_loses_no_more_parquet_than_text(tmp_path):
    """A real ``amikit record`` (default flush settings) against the simulator, killed
    mid-stream at about 2,000 events/s: both losses measured and printed."""
    from amikit.protocol import encode_message
    from amikit.sim import AMIServer
    from tests.record.test_recorder_live import _cli, _wait_for_session

    rate = 2000
    with AMIServer() as server:
        proc = _cli(f"127.0.0.1:{server.port}", "--out", str(tmp_path))
        try:
            _wait_for_session(server)
            sent = 0
            start = time.monotonic()
            while time.monotonic() - start < 3.0:
                for _ in range(50):
                    sent += 1
                    server.broadcast(encode_message([("Event", "Tick"), ("N", str(sent))]))
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)  # pacing the producer, not synchronisation
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            proc.kill()
            proc.communicate()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        parquet = amikit.load(tmp_path, complete=False).filter(pl.col("event") == "Tick").height
        full = amikit.load(tmp_path, complete=True).filter(pl.col("event") == "Tick").height
    text = _text_frames(tmp_path / "ami-log.txt") - 1  # less the FullyBooted of the login
    text_lost, parquet_lost = sent - text, sent - parquet
    print(
        f"kill -9 at {rate}/s: sent {sent}, text lost {text_lost} ({text_lost / rate:.2f} s), "
        f"Parquet lost {parquet_lost} ({parquet_lost / rate:.2f} s), "
        f"complete=True lost {sent - full}"
    )
    assert full == text  # complete=True: nothing the text log holds is invisible
    # the Parquet side lags the text side by at most one flush interval (0.5 s) and the
    # write of one part; before, by up to the 5 s interval
    assert parquet_lost - text_lost <= rate * 0.75, (parquet_lost, text_lost)
    assert text_lost <= rate * 1.0


def _text_recording(tmp_path, *, parquet: bool = True):
    from amikit.protocol import Parser
    from amikit.record._files import read_capture
    from amikit.record._recorder import RecordingSink

    msgs = Parser().feed(read_capture(ASTERISK22[1]))
    now = datetime.now(timezone.utc)
    for i, m in enumerate(msgs, start=1):
        m.seq, m.connection, m.received_at = i, 1, now + timedelta(microseconds=i)
    with RecordingSink(tmp_path, server="s:1", parquet=parquet) as sink:
        for m in msgs:
            sink.put(m)
    return msgs


def _cut_index_lines(tmp_path, lines: int, *, torn: bool) -> None:
    index = tmp_path / "ami-log.txt.index.jsonl"
    data = index.read_bytes()
    for _ in range(lines):
        data = data[: data.rstrip(b"\n").rfind(b"\n") + 1]
    if torn:
        data += b'{"offset":12'
    index.write_bytes(data)


def test_text_log_newer_than_the_dataset_is_counted_and_added(tmp_path):
    msgs = _text_recording(tmp_path)
    parts = list_parts(tmp_path)
    rows = amikit.load(tmp_path).height
    assert rows == len(msgs)
    # the last 40 messages reached the text log but not Parquet (as after kill -9)
    whole = pl.read_parquet(parts[-1])
    parts[-1].unlink()
    DatasetWriter(tmp_path).write(whole.head(whole.height - 40))
    with pytest.warns(IncompleteRecordingWarning, match=r"holds 40 frame\(s\) newer"):
        short = amikit.load(tmp_path, complete=False)
    assert short.height == len(msgs) - 40 and short.amikit_report.tail_frames == 40
    full = amikit.load(tmp_path)  # complete=True by default: nothing is invisible
    assert full.height == len(msgs)
    assert full["seq"].to_list() == list(range(1, len(msgs) + 1))
    assert full.tail(40)["received_at"].null_count() == 0
    assert_same_rows(full, amikit.load(tmp_path / "ami-log.txt"), meta=True)


def test_frames_whose_index_lines_were_lost_are_counted_too(tmp_path):
    msgs = _text_recording(tmp_path)
    whole = pl.read_parquet(list_parts(tmp_path)[-1])
    list_parts(tmp_path)[-1].unlink()
    DatasetWriter(tmp_path).write(whole.head(whole.height - 10))
    _cut_index_lines(tmp_path, 4, torn=False)  # the last 4 frames have no index line
    with pytest.warns(IncompleteRecordingWarning, match=r"holds 10 frame\(s\) newer"):
        amikit.load(tmp_path, complete=False)
    with pytest.warns(IncompleteRecordingWarning, match=r"4 frame\(s\) .* have no index line"):
        full = amikit.load(tmp_path)
    assert full.height == len(msgs)
    assert full["seq"].to_list() == list(range(1, len(msgs) + 1))


def test_a_torn_index_warns_and_strict_raises(tmp_path):
    msgs = _text_recording(tmp_path, parquet=False)
    log = tmp_path / "ami-log.txt"
    _cut_index_lines(tmp_path, 3, torn=True)
    with pytest.warns(IncompleteRecordingWarning) as caught:
        df = amikit.load(log)
    said = " ".join(str(w.message) for w in caught)
    assert "torn last line" in said and "3 frame(s)" in said
    assert df.height == len(msgs) and df["received_at"].null_count() == 3
    with pytest.raises(RecordingFormatError, match="torn last line"):
        amikit.load(log, strict=True)


def test_a_long_index_tail_keeps_the_session_named_before_it(tmp_path):
    """The tail of a long index is read backwards in blocks; its records still carry the
    session named by a session line far before the block (issue 11 meets issue 16)."""
    from datetime import datetime, timedelta, timezone

    from amikit.record._load import _index_tail
    from amikit.record._textlog import TextLogWriter, index_path

    log = tmp_path / "ami-log.txt"
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    frame = b"Event: UserEvent\r\nUserEvent: Tick\r\n\r\n"
    writer = TextLogWriter(log, server="pbx:5038", session="first-session")
    for i in range(5000):  # an index of several 64 KiB blocks
        writer.write(frame, seq=i + 1, connection=1, received_at=t0 + timedelta(seconds=i))
    writer.close()
    assert index_path(log).stat().st_size > 4 * 65536
    last_us = int((t0 + timedelta(seconds=4990)).timestamp() * 1_000_000)
    server, records, whole = _index_tail(index_path(log), last_us)
    assert server == "pbx:5038" and not whole and 0 < records.height < 5000
    assert records["session"].unique().to_list() == ["first-session"]
