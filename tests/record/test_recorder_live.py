"""The Recorder on a real client and the test AMI server (127.0.0.1, port 0)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit import AMIClient
from amikit.protocol import Message, Parser
from amikit.record import Recorder
from amikit.record._files import read_capture
from amikit.record._load import IncompleteRecordingWarning
from amikit.sim import AMIServer
from tests.conftest import ASTERISK22, SAMPLES
from tests.record.conftest import assert_same_rows, codec_rows

ROOT = Path(__file__).resolve().parents[2]


def capture_events(path: Path) -> list[Message]:
    return [m for m in Parser().feed(read_capture(path)) if m.is_event]


class Counter:
    """Counts delivered events; lets the test wait for a number (no sleeps).

    ``skip``: event names not counted. The server sends ``FullyBooted`` after every login,
    so a test waiting for the events it broadcast itself must not count that one (else it
    stops one event early, with the last one still on the wire).
    """

    def __init__(self, skip: frozenset[str] = frozenset()) -> None:
        self.n = 0
        self.skip = skip
        self.cond = threading.Condition()

    def __call__(self, msg: Message) -> None:
        if msg.name in self.skip:
            return
        with self.cond:
            self.n += 1
            self.cond.notify_all()

    def wait(self, n: int, timeout: float = 10.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.n >= n, timeout)


@pytest.fixture
def server():
    with AMIServer() as srv:
        yield srv


def connect(server: AMIServer, **kw) -> AMIClient:
    c = AMIClient("127.0.0.1", server.port, "admin", "amikit", timeout=5.0, **kw)
    return c


@pytest.mark.parametrize("path", [ASTERISK22[1], SAMPLES[-1], SAMPLES[-2]], ids=lambda p: p.name)
def test_record_a_replay_from_the_server_equals_the_codec(tmp_path, server, path):
    events = capture_events(path)
    c = connect(server)
    seen = Counter()
    c.on("*", seen, thread="loop")
    with c:
        # the login's own FullyBooted is in (the Pong comes after it) and counted before
        # the recording starts: the wait below is for the broadcast events alone
        c.ping()
        counted = seen.n
        with Recorder(c, tmp_path, flush_events=100) as rec:
            assert rec.running
            for m in events:
                server.broadcast(m.raw)
            assert seen.wait(counted + len(events))
    df = amikit.load(tmp_path)
    assert_same_rows(df, codec_rows(events))
    assert df["server"].unique().to_list() == [f"127.0.0.1:{server.port}"]
    assert df["connection"].unique().to_list() == [1]
    assert df["seq"].is_sorted() and df["received_at"].null_count() == 0
    assert df["session"].unique().to_list() == [rec.sink.session]
    text = amikit.load(tmp_path / "ami-log.txt")
    assert_same_rows(text, df, meta=True)
    # byte for byte: the log is the frames as received
    log = (tmp_path / "ami-log.txt").read_bytes()
    assert log == b"".join(m.raw for m in events)


def test_stop_while_the_reader_is_handing_out_an_event_still_records_it(tmp_path, server):
    # The race CI once hit: another loop-thread subscriber (registered first) has counted
    # the last event, the main thread stops the recorder, and the reader has not yet handed
    # that event to the recorder. Here the first subscriber holds the reader right there
    # until stop() has had every chance to finish; the event must still be on disk.
    events = capture_events(ASTERISK22[1])[:50]
    reached, go = threading.Event(), threading.Event()

    def hold_on_the_last(msg: Message) -> None:
        if msg.raw == events[-1].raw:
            reached.set()
            go.wait(10)

    c = connect(server)
    c.on("*", hold_on_the_last, thread="loop")
    with c:
        rec = Recorder(c, tmp_path, flush_events=100).start()
        for m in events:
            server.broadcast(m.raw)
        assert reached.wait(10)
        stopper = threading.Thread(target=rec.stop)
        stopper.start()
        # Without the barrier in cancel(), stop() returns while the reader is held and the
        # last event is lost; with it, stop() waits here until the reader moves on.
        stopper.join(1.0)
        go.set()
        stopper.join(10)
        assert not stopper.is_alive()
    assert rec.stats["dropped"] == 0
    assert_same_rows(amikit.load(tmp_path), codec_rows(events))


def test_login_exchange_is_never_recorded_and_no_secret_anywhere(tmp_path, server):
    for auth in ("md5", "plain"):
        out = tmp_path / auth
        c = connect(server, auth=auth)
        seen = Counter(skip=frozenset({"FullyBooted"}))
        c.on("*", seen, thread="loop")
        rec = Recorder(c, out).start()
        with c:
            server.broadcast([("Event", "UserEvent"), ("Privilege", "user,all"), ("X", "1")])
            assert seen.wait(1)
            c.action("Ping")
            rec.record_action([("Action", "Originate"), ("Channel", "Local/1"), ("Secret", "s")])
        rec.stop()
        blob = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
        assert b"amikit" not in blob.replace(b"amikit-", b"").replace(b'"amikit"', b"")
        assert b"Login" not in blob and b"Challenge" not in blob
        assert b"Authentication accepted" not in blob
        df = amikit.load(out).filter(pl.col("event") != "FullyBooted")  # sent after login
        assert df["event"].to_list() == ["UserEvent", "Originate"]
        assert df["kind"].to_list() == ["event", "action"]
        origin = {e["key"]: e["value"] for e in df.row(1, named=True)["extra"]}
        assert origin["Secret"] == "********"


def test_gap_row_after_a_dropped_connection(tmp_path, server):
    c = connect(server, ping_interval=0, backoff=(0.05, 0.2))
    seen = Counter(skip=frozenset({"FullyBooted"}))
    states: list = []
    reconnected = threading.Event()

    def on_state(ev) -> None:
        states.append(ev)
        if ev.kind == "reconnected":
            reconnected.set()

    c.on("*", seen, thread="loop")
    c.on_connection(on_state)
    with c, Recorder(c, tmp_path) as rec:
        server.broadcast([("Event", "UserEvent"), ("Privilege", "user,all"), ("N", "1")])
        assert seen.wait(1)
        server.drop_connections()
        assert reconnected.wait(10)
        server.broadcast([("Event", "UserEvent"), ("Privilege", "user,all"), ("N", "2")])
        assert seen.wait(2)
        rec.flush()
    for source in (tmp_path, tmp_path / "ami-log.txt"):
        df = amikit.load(source).filter(pl.col("event") != "FullyBooted")  # after each login
        assert df["kind"].to_list() == ["event", "gap", "event"]
        assert df["connection"].to_list() == [1, 2, 2]
        full = amikit.load(source)
        gap_at = full["kind"].to_list().index("gap")
        assert full["connection"].to_list()[gap_at:] == [2] * (full.height - gap_at)
        gap = {e["key"]: e["value"] for e in df.row(1, named=True)["extra"]}
        assert gap["GapStart"] and gap["GapEnd"] and gap["Reason"]


def test_include_exclude_through_the_client(tmp_path, server):
    c = connect(server)
    seen = Counter(skip=frozenset({"FullyBooted"}))
    c.on("*", seen, thread="loop")
    with c, Recorder(c, tmp_path, include="user*", exclude=["UserEventB"]):
        for name in ("UserEventA", "UserEventB", "Other"):
            server.broadcast([("Event", name), ("Privilege", "user,all")])
        assert seen.wait(3)
    assert amikit.load(tmp_path)["event"].to_list() == ["UserEventA"]


def _cli(*args: str, env_extra: dict | None = None, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AMI_USERNAME": "admin", "AMI_SECRET": "amikit"}
    env.update(env_extra or {})
    return subprocess.Popen(
        [sys.executable, "-m", "amikit", "record", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _wait_for_session(server: AMIServer, timeout: float = 20.0) -> None:
    # Logged in, not just connected: the server broadcasts only to authenticated sessions.
    deadline = time.monotonic() + timeout

    def logged_in() -> bool:
        return any(s.authenticated for s in server.sessions)

    while not logged_in() and time.monotonic() < deadline:
        time.sleep(0.02)  # polling a condition with a deadline
    assert logged_in(), "the recorder never logged in"


def test_cli_record_until_ctrl_c(tmp_path, server):
    events = capture_events(ASTERISK22[1])[:200]
    proc = _cli(f"127.0.0.1:{server.port}", "--out", str(tmp_path), "--flush-events", "50")
    try:
        _wait_for_session(server)
        for m in events:
            server.broadcast(m.raw)
        deadline = time.monotonic() + 20
        index = tmp_path / "ami-log.txt.index.jsonl"

        def written() -> int:  # index lines: a header, a session line, then one per frame
            if not index.exists():
                return 0
            lines = index.read_text().splitlines(keepends=True)
            return sum(1 for line in lines if line.endswith("\n") and '"amikit"' not in line)

        while time.monotonic() < deadline and written() < len(events) + 1:
            time.sleep(0.05)  # polling a condition with a deadline
        assert written() == len(events) + 1  # with the FullyBooted after the login
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGQUIT)
            raise AssertionError(f"did not stop on SIGINT: {proc.communicate()}") from None
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "recorded 201 events" in err  # with the FullyBooted that follows the login
    assert "amikit" not in err.replace("amikit record", "")
    df = amikit.load(tmp_path)
    assert df["event"][0] == "FullyBooted"
    assert_same_rows(df.slice(1), codec_rows(events))


def test_cli_record_needs_credentials_off_a_terminal(tmp_path, server):
    env_less = {k: v for k, v in os.environ.items() if k not in ("AMI_USERNAME", "AMI_SECRET")}
    out = str(tmp_path / "out")
    proc = subprocess.run(
        [sys.executable, "-m", "amikit", "record", f"127.0.0.1:{server.port}", "--out", out],
        cwd=ROOT,
        env={**env_less, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "AMI_USERNAME and AMI_SECRET" in proc.stderr
    assert not server.sessions and not (tmp_path / "out").exists()


def test_cli_record_wrong_secret_exits_3(tmp_path, server):
    proc = _cli(
        f"127.0.0.1:{server.port}", "--out", str(tmp_path), env_extra={"AMI_SECRET": "wrong"}
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "wrong" not in err


@pytest.mark.slow
def test_kill_9_of_a_recording_cli_fed_by_the_server(tmp_path, server):
    """kill -9 mid-stream: the dataset loads, an exact prefix, at most one interval lost."""
    events = capture_events(ASTERISK22[0])
    flush_events = 500
    proc = _cli(
        f"127.0.0.1:{server.port}",
        "--out",
        str(tmp_path),
        "--flush-events",
        str(flush_events),
        "--flush-seconds",
        "0.3",
    )
    try:
        _wait_for_session(server)
        sent = 0
        # paced producer: ~2,500 events/s, kill once a few parts are published
        start = time.monotonic()
        while True:
            for i in range(sent, sent + 100):  # the capture's events, cycled
                server.broadcast(events[i % len(events)].raw)
            sent += 100
            parts = list(tmp_path.rglob("part-*.parquet"))
            if len(parts) >= 4 and sent >= 4000:
                break
            ahead = sent / 2500 - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)  # pacing the producer, not synchronisation
            assert time.monotonic() - start < 60, "no parts published"
        published = sum(pl.read_parquet(p).height for p in parts)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.communicate()
    import warnings

    with warnings.catch_warnings():  # frames past the index's end: no arrival time
        warnings.simplefilter("ignore", IncompleteRecordingWarning)
        df = amikit.load(tmp_path)  # with the text log's tail beyond the last part
    assert df.height >= published
    assert df.height >= sent - 4 * flush_events - 2500 * 0.6, (df.height, sent)
    assert df["event"][0] == "FullyBooted"
    df = df.slice(1)
    n = df.height
    seq = df["seq"].to_list()
    assert seq == sorted(seq) and len(set(seq)) == n
    want = codec_rows([events[i % len(events)] for i in range(n)])
    assert_same_rows(df, want)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteRecordingWarning)
        text = amikit.load(tmp_path / "ami-log.txt")
    assert text.height >= n + 1
    assert_same_rows(text.slice(1, n), want)
