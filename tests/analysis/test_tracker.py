"""The live CallTracker agrees with the batch calls() on every real capture."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import amikit
from amikit.analysis import CallTracker, calls
from amikit.analysis._rules import summarize_call
from amikit.record._schema import message_row

from .conftest import KINDS, MIXED60, SAMPLES, capture_messages, codec_frame

ALL = [*SAMPLES, MIXED60, *KINDS]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem[:24])
def test_live_and_batch_agree_on_every_real_capture(path: Path) -> None:
    messages = capture_messages(path)
    tracker = CallTracker()
    for message in messages:
        tracker.feed(message)
    live = tracker.calls()
    batch = calls(codec_frame(path))
    assert live.height == batch.height > 0
    assert_frame_equal(live, batch)


def test_live_feed_returns_call_ids_that_match_with_call_id() -> None:
    path = next(p for p in SAMPLES if p.name.startswith("12_"))
    tracker = CallTracker()
    seen = [tracker.feed(m) for m in capture_messages(path)]
    final = calls(codec_frame(path))["call_id"][0]
    # Until the transfer the consult call is its own call; afterwards all are one.
    assert seen[-1] == final
    assert tracker.call_of(final) == final
    assert len(tracker) == 1


def test_on_call_end_fires_once_per_call_when_its_last_channel_hangs_up() -> None:
    ended: list[dict] = []
    tracker = CallTracker(on_call_end=ended.append)
    for message in capture_messages(MIXED60):
        if message.name not in ("Cdr", "CEL"):
            tracker.feed(message)
    ids = [e["call_id"] for e in ended]
    assert len(ids) == len(set(ids)) == 63
    assert tracker.active == []
    tracker.forget(ids[0])
    assert len(tracker) == 62


def test_active_calls_while_the_stream_is_running() -> None:
    tracker = CallTracker()
    peak = 0
    for message in capture_messages(MIXED60):
        tracker.feed(message)
        peak = max(peak, len(tracker.active))
    assert peak > 5
    assert tracker.active == []
    assert "CallTracker" in repr(tracker)


def test_one_definition_of_the_summary_is_shared() -> None:
    # both faces go through the same function object
    import amikit.analysis._stitch as batch_module
    import amikit.analysis._tracker as live_module

    assert batch_module.summarize_call is live_module.summarize_call is summarize_call


def test_feed_row_accepts_recording_rows() -> None:
    path = next(p for p in SAMPLES if p.name.startswith("07_"))
    tracker = CallTracker()
    for message in capture_messages(path):
        tracker.feed_row(message_row(message))
    assert tracker.calls()["disposition"].to_list() == ["BUSY"]
    assert isinstance(tracker.calls(), pl.DataFrame)
    assert amikit.CallTracker is CallTracker
