"""A recorder never fails silently (issue 16, point 1).

Real write errors, no mocks: the text log pointed at ``/dev/full`` (ENOSPC on every write),
a file where the Parquet partition directory should be, the log removed under the
recorder, and ``amikit record`` run under a file-size limit (``RLIMIT_FSIZE``: EFBIG, the
per-process "disk full" any user may set).
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import threading
import time
from datetime import date

import pytest

from amikit.protocol import Message, encode_message
from amikit.record import Recorder
from amikit.record._dataset import partition_dir
from amikit.record._recorder import RecordingSink
from amikit.sim import AMIServer
from tests.record.test_recorder_live import _cli, _wait_for_session, connect

EVENT = encode_message([("Event", "Newchannel"), ("Channel", "PJSIP/100-00000001")])


@pytest.fixture
def server():
    with AMIServer() as srv:
        yield srv


class Failures:
    """An ``on_error`` hook the test can wait on."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.seen = threading.Event()

    def __call__(self, exc: BaseException) -> None:
        self.errors.append(exc)
        self.seen.set()


def _feed_until(server: AMIServer, done: threading.Event, timeout: float = 10.0) -> float:
    """Broadcast events until ``done``; return the seconds it took."""
    start = time.monotonic()
    while not done.is_set():
        for _ in range(50):
            server.broadcast(EVENT)
        done.wait(0.02)  # pacing the producer; the wait ends at once when done is set
        assert time.monotonic() - start < timeout, "no error reported"
    return time.monotonic() - start


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (ENOSPC)")
def test_disk_full_on_the_text_log_stops_the_recorder_loudly(tmp_path, server, caplog):
    (tmp_path / "ami-log.txt").symlink_to("/dev/full")
    failures = Failures()
    with connect(server) as client:
        rec = Recorder(client, tmp_path, on_error=failures).start()
        assert rec.running
        took = _feed_until(server, failures.seen)
        assert took < 5
        (exc,) = failures.errors
        assert isinstance(exc, OSError) and exc.errno == errno.ENOSPC
        assert rec.error is exc and not rec.running
        with pytest.raises(OSError) as info:
            rec.flush()
        assert info.value.errno == errno.ENOSPC  # the real cause, not "flush timed out"
        before = rec.stats["dropped"]
        for _ in range(500):
            rec.sink.put(Message(EVENT))
        assert rec.sink._buffer == []  # nothing piles up after the error
        assert rec.stats["dropped"] == before + 500
        with pytest.raises(OSError):
            rec.stop()
    assert any(
        "recording to" in r.getMessage() and "stopped" in r.getMessage() for r in caplog.records
    )


def _block_parquet(tmp_path, server: AMIServer) -> None:
    # A file where the partition directory must go: mkdir fails with a real OSError.
    where = partition_dir(tmp_path, f"127.0.0.1:{server.port}", date.today().isoformat())
    where.parent.mkdir(parents=True)
    where.parent.rmdir()
    where.parent.write_text("in the way")


def test_parquet_error_stops_the_recording_by_default(tmp_path, server):
    _block_parquet(tmp_path, server)
    failures = Failures()
    with connect(server) as client:
        rec = Recorder(client, tmp_path, on_error=failures, flush_seconds=0.2).start()
        _feed_until(server, failures.seen)
        assert isinstance(rec.error, OSError) and not rec.running
        with pytest.raises(OSError):
            rec.flush()
        with pytest.raises(OSError):
            rec.stop()


def test_parquet_error_can_keep_the_text_log_going(tmp_path, server):
    _block_parquet(tmp_path, server)
    failures = Failures()
    with connect(server) as client:
        rec = Recorder(
            client, tmp_path, on_error=failures, flush_seconds=0.2, parquet_failure="keep-text"
        ).start()
        _feed_until(server, failures.seen)
        assert rec.running and rec.error is None
        assert isinstance(rec.sink.parquet_error, OSError)
        written = rec.stats["text_written"]
        for _ in range(100):
            server.broadcast(EVENT)
        client.action("Ping")  # the server answers after the events it sent before
        rec.flush()
        assert rec.stats["text_written"] >= written + 101
        rec.stop()
    assert rec.stats["dropped"] == 0
    assert (tmp_path / "ami-log.txt").read_bytes().count(b"Event: Newchannel") >= 100


def test_removing_the_text_log_is_a_write_error(tmp_path, server):
    failures = Failures()
    with connect(server) as client:
        rec = Recorder(client, tmp_path, on_error=failures).start()
        for _ in range(10):
            server.broadcast(EVENT)
        client.action("Ping")
        rec.flush()
        (tmp_path / "ami-log.txt").unlink()
        _feed_until(server, failures.seen)
        assert isinstance(rec.error, FileNotFoundError) and not rec.running
        with pytest.raises(FileNotFoundError):
            rec.stop()


def test_the_backlog_is_capped_and_what_it_turns_away_is_counted(tmp_path):
    sink = RecordingSink(tmp_path, parquet=False, max_backlog=100)
    for _ in range(150):  # nothing writes yet: the backlog fills up
        sink.put(Message(EVENT))
    assert len(sink._buffer) == 100 and sink.dropped == 50 and sink.received == 150
    with sink:
        pass
    assert sink.text_written == 100


def test_a_broken_on_error_hook_does_not_hide_the_error(tmp_path, server):
    def hook(exc: BaseException) -> None:
        raise RuntimeError("hook is broken")

    with connect(server) as client:
        rec = Recorder(client, tmp_path, on_error=hook).start()
        (tmp_path / "ami-log.txt").unlink()
        deadline = time.monotonic() + 10
        while rec.running:
            server.broadcast(EVENT)
            assert time.monotonic() < deadline
            time.sleep(0.05)  # polling a condition with a deadline
        assert isinstance(rec.error, FileNotFoundError)
        with pytest.raises(FileNotFoundError):
            rec.stop()


def _limit_file_size() -> None:  # in the child, before exec: a per-process "full disk"
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_cli_record_exits_non_zero_within_seconds_when_the_disk_fills(tmp_path, server):
    proc = _cli(
        f"127.0.0.1:{server.port}",
        "--out",
        str(tmp_path),
        env_extra={"PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=_limit_file_size,
    )
    try:
        _wait_for_session(server)
        exited = threading.Event()
        watcher = threading.Thread(target=lambda: (proc.wait(), exited.set()), daemon=True)
        watcher.start()
        files = (tmp_path / "ami-log.txt", tmp_path / "ami-log.txt.index.jsonl")
        full_at = None
        start = time.monotonic()
        while not exited.is_set():
            for _ in range(50):
                server.broadcast(EVENT)
            if full_at is None and any(f.exists() and f.stat().st_size > 190_000 for f in files):
                full_at = time.monotonic()  # within a write buffer of the limit
            exited.wait(0.02)  # pacing the producer
            assert time.monotonic() - start < 30, "amikit record never noticed the full disk"
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    assert "recording failed" in err and "File too large" in err
    assert err.count("\n") <= 3, err  # one line, no traceback
    assert full_at is not None and time.monotonic() - full_at < 5
    print(f"disk full -> exit in {time.monotonic() - full_at:.2f} s")
