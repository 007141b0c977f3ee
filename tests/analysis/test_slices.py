"""``calls`` a slice at a time gives exactly the calls of one pass over the whole frame.

Differential: the one-pass ``calls`` of each frame against ``calls_in_slices`` with
slices from a few rows (a call cut many times over, carried from slice to slice) to
more than the frame, on every real capture, on recordings that span sessions, servers
and a PBX restart, on a simulator recording read back lazily from its Parquet dataset,
and on captures without any time (the carry then counts rows, not seconds).
"""

from __future__ import annotations

import copy
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import amikit
from amikit import AMIClient
from amikit.analysis import _chunked, calls
from amikit.analysis._chunked import calls_in_slices
from amikit.record._recorder import RecordingSink
from amikit.record._schema import rows_to_frame
from amikit.sim import PBX

from .conftest import KINDS, MIXED60, SAMPLES, capture_messages, frame
from .test_boundaries import mixed60_rows, restarted, retagged

# slices from a few rows (every call cut many times over) to more than the frame; a big
# frame is cut less finely, as each slice costs a whole grouping pass
SMALL_SIZES = (7, 64, 1_000)
LARGE_SIZES = (600, 2_500)


def record_mixed60(folder: Path, *servers: str) -> None:
    """The real capture recorded into ``folder`` once per server given (a server given
    twice: two sessions of it)."""
    messages = capture_messages(MIXED60)
    for server in servers:
        with RecordingSink(folder, server=server) as sink:
            for m in messages:
                sink.put(m)


def one_pass(events: pl.DataFrame) -> pl.DataFrame:
    """The calls of the whole frame at once (the frame is under one slice)."""
    assert events.height < 400_000
    return calls(events)


def same_in_slices(events: pl.DataFrame, **options: Any) -> pl.DataFrame:
    whole = one_pass(events)
    for rows in SMALL_SIZES if events.height <= 1_000 else LARGE_SIZES:
        assert_frame_equal(calls_in_slices(events, slice_rows=rows, **options), whole)
    return whole


@pytest.mark.parametrize("path", [MIXED60, *KINDS, *SAMPLES], ids=lambda p: p.name)
def test_every_capture_in_slices(path: Path) -> None:
    whole = same_in_slices(frame(path))
    assert whole.height


def test_a_capture_without_times_carries_by_rows() -> None:
    events = frame(MIXED60).with_columns(
        pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias(c) for c in ("timestamp", "received_at")
    )
    # a settle shorter than the calls: any mistake in the carry would split one
    whole = same_in_slices(events, settle_rows=50)
    assert whole.height == one_pass(frame(MIXED60)).height


def test_a_restart_and_repeated_ids_in_slices() -> None:
    rows = mixed60_rows()
    head, tail = int(len(rows) * 0.25), int(len(rows) * 0.75)
    events = restarted(rows[head:], rows[:tail])
    whole = same_in_slices(events)
    assert sorted(whole["epoch"].unique().to_list()) == [0, 1]
    assert whole["in_progress"].any() and whole["joined_late"].any()


def test_sessions_and_servers_in_one_dataset_in_slices(tmp_path: Path) -> None:
    record_mixed60(tmp_path, "pbx-a:5038", "pbx-a:5038", "pbx-b:5038")
    events = amikit.load(tmp_path)
    whole = same_in_slices(events)
    assert whole.select("server", "session").n_unique() == 3


def test_a_simulator_recording_read_lazily_in_slices(tmp_path: Path) -> None:
    with PBX(calls_per_minute=0, seed=11, speed=5.0) as pbx:
        client = AMIClient("127.0.0.1", pbx.port, "admin", "amikit", timeout=5.0)
        with client, amikit.Recorder(client, tmp_path / "rec"):
            started = [pbx.call(s) for s in ("answered", "busy", "hold", "answered", "noanswer")]
            deadline = time.monotonic() + 60
            while not all(c.finished for c in started[:2]) and time.monotonic() < deadline:
                time.sleep(0.05)  # the PBX has no "all calls over" event: poll, bounded
    events = amikit.load(tmp_path / "rec")
    whole = same_in_slices(events)
    assert whole.height >= 2
    # calls of a LazyFrame (a scanned dataset) read it a slice at a time
    lazy = calls(amikit.scan(tmp_path / "rec"))
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), whole)


def test_an_empty_frame_in_slices() -> None:
    events = rows_to_frame([])
    assert calls_in_slices(events, slice_rows=7).height == 0


def test_several_servers_in_worker_processes_give_the_same_calls(tmp_path: Path) -> None:
    record_mixed60(tmp_path, "pbx-a:5038", "pbx-b:5038", "pbx-c:5038")
    lazy = amikit.scan(tmp_path)
    whole = calls(amikit.load(tmp_path))
    assert whole["server"].n_unique() == 3
    # under two slices of events: calls(workers=2) stays in this process
    by_workers = calls(lazy, workers=2)
    assert isinstance(by_workers, pl.LazyFrame)
    assert_frame_equal(by_workers.collect(), whole)
    # cut into pieces that hold several servers each: from a scan, from a frame in
    # memory (each worker is sent its piece's rows), and with servers whose rows
    # alternate every 100 rows (as a dataset's parts do when several PBXs are recorded
    # at once); the calls merge into the order of one pass
    options = {"workers": 2, "slice_rows": 2_000, "min_piece_rows": 4_000}
    assert_frame_equal(_chunked.calls_in_pieces(lazy, **options), whole)
    assert_frame_equal(_chunked.calls_in_pieces(amikit.load(tmp_path), **options), whole)
    turn = (pl.int_range(pl.len()).over("server") // 100).alias("_turn")  # 100 rows each
    mixed = amikit.load(tmp_path).with_columns(turn).sort("_turn", "server").drop("_turn")
    assert mixed["server"].rle_id().max() > 100
    assert_frame_equal(_chunked.calls_in_pieces(mixed, **options), calls(mixed))
    mixed.write_parquet(tmp_path / "mixed.parquet")
    scan = pl.scan_parquet(tmp_path / "mixed.parquet")
    assert_frame_equal(_chunked.calls_in_pieces(scan, **options), calls(mixed))


def test_calls_across_midnight_are_stitched_over_day_partitions(tmp_path: Path) -> None:
    """A dataset's ``date=`` partitions are read one after the other, a slice at a time;
    a call that spans midnight is one call, exactly as in one pass over the frame."""
    from datetime import datetime, timezone

    from amikit.record._dataset import DatasetWriter

    events = frame(MIXED60)
    first = events["timestamp"].min()
    assert isinstance(first, datetime)
    # the capture starts 30 s before midnight: its calls run on into the next day
    midnight = datetime(2026, 11, 27, tzinfo=timezone.utc)
    shift = midnight - first - timedelta(seconds=30)
    events = events.with_columns(pl.col("timestamp", "received_at") + shift)
    DatasetWriter(tmp_path / "ds", fsync=False).write(events)
    days = sorted(p.name for p in (tmp_path / "ds").glob("server=*/date=*"))
    assert days == ["date=2026-11-26", "date=2026-11-27"]
    whole = one_pass(events)
    spanning = whole.filter(pl.col("start").dt.date() != pl.col("end").dt.date())
    assert spanning.height >= 1  # at least one call crosses the partition boundary
    lazy = amikit.scan(tmp_path / "ds")
    for rows in LARGE_SIZES:
        assert_frame_equal(calls_in_slices(lazy, slice_rows=rows), whole)
    assert_frame_equal(calls(lazy).collect(), whole)


def copies_in_time(events: pl.DataFrame, copies: int, *, first: int = 0) -> pl.DataFrame:
    """``copies`` runs of the capture, two minutes apart, each with its own ids and
    channel names: a recording long enough for calls to end while others go on."""
    chans = [c for c in events.columns if c.endswith("Channel")]
    parts = []
    for k in range(first, first + copies):
        part = retagged(events, f"r{k}-").with_columns(
            *[pl.col(c).str.replace(r"-([0-9a-fA-F]+)(;[12])?$", f"-{k:x}x$1$2") for c in chans],
            pl.col("timestamp", "received_at") + pl.duration(minutes=2 * k),
        )
        parts.append(part)
    return pl.concat(parts)


def _pieces_stitched(
    events: pl.DataFrame, pieces: int, rows: int
) -> tuple[pl.DataFrame, list[tuple[int | None, int]]]:
    """The pieces grouped on their guess (in this process) and stitched in order, with
    for each stitched piece (slices re-grouped before its state matched, its slices)."""
    settle, settle_rows = _chunked.SETTLE_SECONDS, _chunked.SETTLE_ROWS
    bounds = _chunked._piece_bounds(events.height, pieces)
    plan = []
    rules: dict[Any, Any] = {}
    for k, (first, count) in enumerate(bounds):
        if k:  # the epoch rules at the piece's first row
            _chunked._feed_epoch_rules(events.lazy(), *bounds[k - 1], rules)
        source, runs, _, final = _chunked._piece(events, first, count, k == pieces - 1)
        plan.append((source, runs, copy.deepcopy(rules), final))
    guessed = [_chunked._group_piece(p, rows, settle, settle_rows) for p in plan]
    finished = [f for f in guessed[0][0] if f is not None]
    state = guessed[0][2]
    reruns: list[tuple[int | None, int]] = []
    for piece, guess in zip(plan[1:], guessed[1:], strict=True):
        steps, probes, _ = guess
        # how far the stitch had to re-group: the first slice whose state matched
        grouper = _chunked._SliceGrouper(state, settle=settle, settle_rows=settle_rows)
        matched = None
        for i, (current, last) in enumerate(_chunked._piece_steps(piece, rows)):
            grouper.step(current, last=last)
            if i < len(probes) and _chunked._same_state(grouper.state(), probes[i]):
                matched = i + 1
                break
        reruns.append((matched, len(steps)))
        stitched, state = _chunked._stitch(piece, state, guess, rows, settle, settle_rows)
        finished += [f for f in stitched if f is not None]
    return _chunked._merged(finished), reruns


def test_pieces_grouped_apart_and_stitched_are_one_pass(tmp_path: Path) -> None:
    """A recording cut into consecutive pieces, each grouped as if no call were
    open at its start, then stitched: the calls of one pass, across a PBX restart too
    (the epoch rules of a piece come from the rows before it)."""
    from amikit.record._schema import gap_row

    base = frame(MIXED60)
    before = copies_in_time(base, 4).with_columns(pl.lit(1, dtype=pl.Int32).alias("connection"))
    # the PBX restarted: the same Uniqueids again, on a new connection, after a gap
    after = copies_in_time(base, 4, first=5).with_columns(
        pl.lit(2, dtype=pl.Int32).alias("connection")
    )
    lost = before["timestamp"].max()
    assert isinstance(lost, datetime)
    gap = rows_to_frame(
        [
            gap_row(
                received_at=lost + timedelta(minutes=1),
                server=base["server"][0],
                connection=2,
                gap_start=lost,
                gap_end=lost + timedelta(minutes=1),
                reason="connection lost",
            )
        ]
    )
    events = pl.concat([before, gap, after], how="vertical_relaxed")
    whole = calls(events)
    # several epochs: the restart, and each copy's FullyBooted (its Uptime is not moved
    # with its time, so each copy reads as a PBX started two minutes later)
    assert whole["epoch"].n_unique() > 2
    for pieces in (2, 3):
        got, reruns = _pieces_stitched(events, pieces, rows=2_000)
        assert_frame_equal(got, whole)
        # the stitch re-grouped only the first slices of each piece, not all of it
        assert all(m is not None and m < n for m, n in reruns), reruns
    # the same in worker processes, from a frame in memory and from a Parquet scan
    options = {"workers": 2, "slice_rows": 2_000, "min_piece_rows": 6_000}
    assert_frame_equal(_chunked.calls_in_pieces(events, **options), whole)
    events.write_parquet(tmp_path / "events.parquet")
    scan = pl.scan_parquet(tmp_path / "events.parquet")
    assert_frame_equal(_chunked.calls_in_pieces(scan, **options), whole)


def test_a_piece_whose_state_never_matches_is_regrouped_whole() -> None:
    """Calls open across every probed slice (60 concurrent calls, slices of 64 events):
    no state matches, the stitch re-groups the piece from the true state, still exact."""
    events = frame(MIXED60)
    got, reruns = _pieces_stitched(events, 2, rows=64)
    assert reruns == [(None, reruns[0][1])]
    assert_frame_equal(got, calls(events))
