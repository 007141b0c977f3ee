"""Replay of amikit's own recordings: PBX -> record -> replay -> a client sees the same events.

The text log is replayed byte for byte with the arrival times of its ``.index.jsonl``; a
Parquet recording is rebuilt row by row with the times of ``received_at``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit import AMIClient
from amikit.protocol import Message
from amikit.record import Recorder, RecordingFormatError
from amikit.sim import PBX, replay


class Inbox:
    """Collects events (and their arrival times) on the client's loop; waits without sleeps."""

    def __init__(self) -> None:
        self.events: list[Message] = []
        self.cond = threading.Condition()

    def __call__(self, msg: Message) -> None:
        with self.cond:
            self.events.append(msg)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 30.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.events), timeout)


def _calls_done(events: list[Message], calls: int) -> bool:
    return sum(1 for m in events if m.name == "Hangup") >= 2 * calls


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, Path, list[Message]]:
    """Two answered calls and a busy one from the PBX, recorded as text and as Parquet."""
    text_dir = tmp_path_factory.mktemp("text")
    parquet_dir = tmp_path_factory.mktemp("parquet")
    inbox = Inbox()
    with (
        PBX(calls_per_minute=0, seed=7, speed=4.0) as pbx,
        AMIClient(pbx.host, pbx.port, "admin", "amikit", timeout=5.0) as client,
    ):
        client.on("*", inbox, thread="loop", lossless=True)
        with (
            Recorder(client, text_dir, parquet=False),
            Recorder(client, parquet_dir, text=False, flush_events=50),
        ):
            for scenario in ("answered", "busy", "answered"):
                pbx.call(scenario)
            assert inbox.wait_for(lambda ev: _calls_done(ev, 3))
    return text_dir, parquet_dir, list(inbox.events)


def _watch(rp, expected: int) -> Inbox:
    inbox = Inbox()
    client = AMIClient(rp.host, rp.port, "admin", "amikit", timeout=5.0)
    client.on("*", inbox, thread="loop", lossless=True)  # before login: playback starts then
    with client:
        assert rp.wait_finished(1, timeout=30)
        assert inbox.wait_for(lambda ev: len(ev) >= expected + 1, timeout=10)
    return inbox


def _offsets(times) -> list[float]:
    return [(t - times[0]).total_seconds() for t in times]


def _recorded_events(path: Path) -> pl.DataFrame:
    return amikit.load(path).filter(pl.col("kind") == "event")


@pytest.mark.parametrize("source", ["text log", "text folder", "parquet"])
def test_replay_of_a_recording_gives_the_same_events_in_order_with_scaled_timing(recorded, source):
    text_dir, parquet_dir, live = recorded
    path = {
        "text log": text_dir / "ami-log.txt",
        "text folder": text_dir,
        "parquet": parquet_dir,
    }[source]
    rows = _recorded_events(path)
    assert rows.height > 20
    n = min(rows.height, len(live))  # the recorders stop a moment apart
    speed = 2.0
    with replay(path, speed=speed) as rp:
        seen = _watch(rp, rows.height)
    # the replay server greets each login with its own FullyBooted (not recorded)
    got = [m for m in seen.events if m.name != "FullyBooted"]
    assert len(got) == rows.height
    assert [m.name for m in got] == rows["event"].to_list()
    assert [m.get("Uniqueid") for m in got] == rows["Uniqueid"].to_list()
    assert [m.name for m in got[:n]] == [m.name for m in live[:n]]
    if source != "parquet":  # the text log is replayed byte for byte
        assert [m.raw for m in got[:n]] == [m.raw for m in live[:n]]
    else:  # rebuilt from the row: the same headers
        for a, b in zip(got[:n], live[:n], strict=True):
            assert sorted(a.items()) == sorted(b.items())
    recorded_offsets = _offsets(rows["received_at"].to_list())
    replayed_offsets = _offsets([m.received_at for m in got])
    span = recorded_offsets[-1]
    assert span > 1.0  # the calls took simulated seconds to ring, talk and hang up
    for want, have in zip(recorded_offsets, replayed_offsets, strict=True):
        assert abs(have - want / speed) < 0.25 + 0.1 * want / speed
    assert span / speed * 0.8 < replayed_offsets[-1] < span / speed * 1.5 + 0.25


def test_replay_of_parquet_without_arrival_times_uses_server_timestamps(recorded, tmp_path):
    _, parquet_dir, _ = recorded
    rows = amikit.load(parquet_dir).with_columns(received_at=None)
    rows.write_parquet(tmp_path / "no-arrival.parquet")
    events = rows.filter(pl.col("kind") == "event")
    with replay(tmp_path / "no-arrival.parquet", speed=float("inf")) as rp:
        offsets = [t for t, _, _ in rp.events]
        assert [m.name for _, m, _ in rp.events] == events["event"].to_list()
    stamps = events["timestamp"].to_list()
    assert offsets == pytest.approx(_offsets(stamps), abs=1e-6)


def test_replay_of_something_else_is_a_clear_error(tmp_path):
    with pytest.raises(RecordingFormatError):
        replay(tmp_path)  # an empty folder: neither text logs nor Parquet parts


def test_import_sim_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, amikit.sim\n"
        "bad = {'polars', 'amikit.record._load', 'amikit.analysis'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
