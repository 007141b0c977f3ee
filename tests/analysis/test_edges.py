"""Empty and minimal frames: every function answers, with its usual columns."""

from __future__ import annotations

import polars as pl

from amikit.analysis import (
    CallTracker,
    calls,
    changes,
    collapse,
    drop_noise,
    event_rate,
    fold_dialplan,
    ladder,
    stats,
    timeline,
    with_call_id,
)

from .conftest import SAMPLES, frame


def test_empty_frames() -> None:
    empty = frame(SAMPLES[0]).head(0)
    assert calls(empty).columns == CallTracker().calls().columns
    assert calls(empty).height == 0
    assert with_call_id(empty).columns == [*empty.columns, "call_id"]
    assert stats(calls(empty)).height == 0
    assert event_rate(empty).height == 0
    for fn in (collapse, fold_dialplan, changes, drop_noise):
        assert fn(empty).height == 0


def test_frames_with_few_columns() -> None:
    df = frame(SAMPLES[0])
    few = df.select("event", "Uniqueid", "Linkedid", "Channel", "ChannelState", "Cause")
    summary = calls(few)
    assert summary.height == 1
    call_id = summary["call_id"][0]
    assert with_call_id(few)["call_id"].null_count() == 0
    assert timeline(few, call_id).height == few.height
    assert "PJSIP/1986" in str(ladder(few, call_id))
    assert collapse(few)["count"].sum() == few.height
    assert fold_dialplan(few).height == few.height
    assert changes(few).height == few.height
    no_events = df.filter(pl.col("event") == "FullyBooted")
    assert calls(no_events).height == 0
