"""stats() over calls and event_rate() over events."""

from __future__ import annotations

import polars as pl
import pytest

import amikit
from amikit.analysis import calls, event_rate, stats
from amikit.analysis._stats import BREAKDOWNS


@pytest.fixture(scope="module")
def mixed_calls(mixed60: pl.DataFrame) -> pl.DataFrame:
    return calls(mixed60.filter(~pl.col("event").is_in(["Cdr", "CEL"])))


def test_stats_overall_row_matches_the_calls(mixed_calls: pl.DataFrame) -> None:
    table = stats(mixed_calls)
    assert table["by"].unique(maintain_order=True).to_list() == list(BREAKDOWNS)
    total = table.filter(pl.col("by") == "all").row(0, named=True)
    assert total["calls"] == mixed_calls.height == 63
    assert total["answered"] == mixed_calls["answered"].sum()
    assert total["asr"] == pytest.approx(total["answered"] / total["calls"])
    assert total["mean_duration"] == pytest.approx(mixed_calls["duration"].mean())
    assert total["p90_duration"] >= total["p50_duration"]
    assert total["total_billsec"] == pytest.approx(mixed_calls["billsec"].sum())


def test_stats_breakdowns(mixed_calls: pl.DataFrame) -> None:
    table = stats(mixed_calls)
    disp = dict(table.filter(pl.col("by") == "disposition").select("key", "calls").iter_rows())
    assert sum(disp.values()) == 63
    assert set(disp) == {"ANSWERED", "NO ANSWER", "BUSY", "FAILED"}
    dialed = table.filter(pl.col("by") == "dialed")
    assert dialed.filter(pl.col("key") == "500")["asr"].to_list() == [0.0]
    assert dialed["calls"].sum() == 63
    queue = table.filter(pl.col("by") == "queue").row(0, named=True)
    assert queue["key"] == "support" and queue["mean_queue_wait"] >= 0
    causes = table.filter(pl.col("by") == "hangup_cause")["key"].to_list()
    assert "17 User busy" in causes or any(c.startswith("21 ") for c in causes)
    hours = table.filter(pl.col("by") == "hour")
    assert hours["key"].to_list() == ["2026-11-26 18:00"]
    per_day_only = stats(mixed_calls, by=["day"])
    assert per_day_only["by"].to_list() == ["day"]
    with pytest.raises(amikit.UsageError):
        stats(mixed_calls, by=["weekday"])


def test_stats_accepts_events_and_lazy_frames(mixed60: pl.DataFrame) -> None:
    events = mixed60.filter(~pl.col("event").is_in(["Cdr", "CEL"]))
    lazy_table = stats(calls(events.lazy()))
    assert isinstance(lazy_table, pl.LazyFrame)
    assert stats(events).filter(pl.col("by") == "all")["calls"].to_list() == [63]
    # events with workers: the calls are grouped as calls(workers=) groups them
    assert stats(events, workers=2).equals(stats(events))


def test_event_rate_counts_every_timed_event(mixed60: pl.DataFrame) -> None:
    rate = event_rate(mixed60)
    # a row is timed by its server Timestamp, else its arrival time (the loader fills
    # received_at from mixed60.timing.jsonl)
    timed = mixed60.filter(pl.coalesce("timestamp", "received_at").is_not_null()).height
    assert rate["events"].sum() == timed
    steps = rate["time"].diff().drop_nulls().unique().to_list()
    assert [s.total_seconds() for s in steps] == [1.0]  # gap-free grid
    by_event = event_rate(mixed60, "10s", by="event")
    assert by_event["events"].sum() == timed
    assert by_event.columns == ["time", "event", "events"]
    assert amikit.event_rate is event_rate and amikit.stats is stats


def test_stats_per_server_equals_stats_of_each_server_alone(mixed_calls: pl.DataFrame) -> None:
    east = mixed_calls.with_columns(pl.lit("east").alias("server"))
    west = mixed_calls.head(20).with_columns(pl.lit("west").alias("server"))
    table = stats(pl.concat([west, east]), per_server=True)
    assert table.columns[:3] == ["server", "by", "key"]
    assert table["server"].unique(maintain_order=True).to_list() == ["east", "west"]
    for server, calls_of_server in (("east", east), ("west", west)):
        alone = stats(calls_of_server)
        mine = table.filter(pl.col("server") == server).drop("server")
        assert mine.equals(alone), server
    # one server: the rows of plain stats(), plus the column
    assert stats(east, per_server=True).drop("server").equals(stats(east))
    lazy_table = stats(pl.concat([west, east]).lazy(), by=["all"], per_server=True)
    assert lazy_table.collect()["calls"].to_list() == [63, 20]
