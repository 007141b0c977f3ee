"""``calls`` over a recording larger than memory: one slice of events at a time.

A call only ever grows while one of its channels is up. So the events are read in slices
of a bounded number of rows; each slice is grouped and summarised by the same code as a
whole frame (``prepare``, ``with_scope``, ``summaries``), with the events still "open"
from the slices before it in front:

* a call whose channels have all hung up, and whose last event is more than
  ``settle`` seconds older than the newest event read (``settle_rows`` events earlier,
  for events that carry no time), is finished: its summary row is
  final and its events are dropped;
* the events of every other call (a channel still up, or a hangup so recent that a
  ``BridgeDestroy`` or a late ``Cdr`` may still name it), and the recent events of no
  call yet (a ``BridgeCreate`` before its first ``BridgeEnter``), are carried into the
  next slice;
* the PBX epoch (Rule 8) is worked out on each new slice only, with each (server,
  session)'s :class:`._rules.EpochRule` carried over, so carried events keep theirs.

Memory is then bounded by the slice plus the events of the calls alive at once, not by
the length of the recording; the calls are exactly those of one pass over the whole
frame, as long as nothing names a finished call more than ``settle`` seconds after its
last channel hung up (Asterisk sends a call's last events within milliseconds of its
last hangup). The rows come out in the order of each call's first event, as
:func:`._calls.calls` gives them.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

import polars as pl

from ._calls import (
    CALL,
    SCOPE,
    _epochs,
    calls_schema,
    model_columns,
    prepare,
    summaries,
    with_scope,
)
from ._frame import POS, TIME, columns_of, lazy
from ._rules import EpochRule

__all__ = ["SETTLE_ROWS", "SETTLE_SECONDS", "SLICE_ROWS", "calls_by_server", "calls_in_slices"]

#: Rows read per slice: a peak of about 1 GiB on Asterisk 22 traffic (benchmarks/bench_scale.py).
SLICE_ROWS = 150_000
#: A finished call is final once the recording has gone this far past its last event.
SETTLE_SECONDS = 60.0

#: ... or, for events with no time at all, this many events past it.
SETTLE_ROWS = 20_000

#: ``calls_by_server`` splits by server only when the servers' runs of rows are at least
#: this long on average (a dataset alternates a part, thousands of rows, at a time).
MIN_MEAN_RUN = 1_000

_EXTRA = ("_key", "value", "_idx")  # an extra entry's columns besides its row
_G = "_g"  # each event's row number in the whole recording: unique across slices


def _model_source(lf: pl.LazyFrame, *, keep_numbers: bool) -> pl.LazyFrame:
    """The columns of ``lf`` the call model reads; with ``keep_numbers``, also the rows'
    numbers in a larger frame (``_g``) when ``lf`` carries them (a worker's rows)."""
    cols = [c for c in columns_of(lf) if c not in (POS, CALL, _G)]
    numbers = [_G] if keep_numbers and _G in columns_of(lf) else []
    return lf.select(model_columns(cols) + numbers)


def _slices(lf: pl.LazyFrame, rows: int) -> Iterator[pl.DataFrame]:
    """The model's columns of ``lf``, ``rows`` rows at a time, in order.

    Each slice is its own query: on a Parquet scan the slice reaches the reader, which
    reads only those rows (measured: peak memory a third lower than polars' streaming
    ``collect_batches``, which reads ahead). A query with filters or joins is re-run up
    to each slice, so such a frame is better collected first.
    """
    source = _model_source(lf, keep_numbers=True)
    offset = 0
    while True:
        part = source.slice(offset, rows).collect()
        if part.height == 0:
            return
        yield part
        if part.height < rows:  # the end: no need to ask for an empty slice
            return
        offset += part.height


def _run_slices(lf: pl.LazyFrame, runs: list[tuple[int, int]], rows: int) -> Iterator[pl.DataFrame]:
    """The model's columns of the row ranges ``runs`` (``(first row, rows)``, in order) of
    ``lf``, ``rows`` rows at a time, each row with its number in ``lf`` (``_g``).

    Each range is read as slices of ``lf``, which on a Parquet scan reach the reader:
    one server's events in a dataset whose parts alternate between servers.
    """
    source = _model_source(lf, keep_numbers=False)
    pending: list[pl.DataFrame] = []
    held = 0
    for start, length in runs:
        for first in range(start, start + length, rows):
            take = min(rows, start + length - first)
            part = source.slice(first, take).collect()
            numbers = pl.int_range(first, first + part.height, dtype=pl.Int64, eager=True)
            pending.append(part.with_columns(numbers.alias(_G)))
            held += part.height
            while held >= rows:
                joined = pl.concat(pending, how="diagonal_relaxed")
                yield joined.slice(0, rows)
                rest = joined.slice(rows)
                pending, held = ([rest] if rest.height else []), rest.height
    if held:
        yield pl.concat(pending, how="diagonal_relaxed")


def calls_in_slices(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    slice_rows: int = SLICE_ROWS,
    settle: float = SETTLE_SECONDS,
    settle_rows: int = SETTLE_ROWS,
    runs: list[tuple[int, int]] | None = None,
    with_order: bool = False,
) -> pl.DataFrame:
    """:func:`._calls.calls` of ``frame``, reading ``slice_rows`` events at a time.

    ``runs``: group only these row ranges of ``frame`` (``(first row, rows)``, in order;
    one server's events, :func:`calls_by_server`). ``with_order``: keep each call's first
    row in ``frame`` (``_first_g``), by which the calls of several such runs are merged
    into the order of one pass.
    """
    lf = lazy(frame)
    rules: dict[Any, EpochRule] = {}
    carried_events: pl.DataFrame | None = None  # prepared columns + _g + epoch, no _pos
    carried_extra: pl.DataFrame | None = None  # extra entries of those events, by _g
    finished: list[pl.DataFrame] = []  # summary rows with their first _g
    offset = 0
    newest_g = -1  # the number of the last row read
    reader = _slices(lf, slice_rows) if runs is None else _run_slices(lf, runs, slice_rows)
    # no look-ahead: one slice in memory at a time; the carried events are summed up
    # after the last one
    for current in chain(reader, [None]):
        # the end is the empty step after the slices, or a short slice (the only one,
        # for most recordings: then no carrying at all)
        last = current is None or current.height < slice_rows
        if current is None:
            if carried_events is None or carried_events.height == 0:
                break
            assert carried_extra is not None  # carried with the events
            events, extra = carried_events, carried_extra
        else:
            if _G in current.columns:  # rows of a run: numbered in the whole frame
                numbers = current[_G].cast(pl.Int64)
                current = current.drop(_G)
            else:
                numbers = pl.int_range(offset, offset + current.height, eager=True)
            newest_g = int(numbers[-1])
            prepared, new_extra = prepare(current)
            prepared = prepared.with_columns(numbers.alias(_G))
            prepared = prepared.with_columns(_epochs(prepared, new_extra, rules))
            extra = new_extra.join(prepared.select(POS, _G), on=POS).select(_G, *_EXTRA)
            offset += current.height
            events = prepared.drop(POS)
            if carried_events is not None and carried_events.height:
                events = pl.concat([carried_events, events], how="diagonal_relaxed")
                # the id columns in the recording's order (a slice drops its empty ones,
                # and the first id of an event is taken in that order)
                rank: dict[str, int] = {name: i for i, name in enumerate(current.columns)}
                order = sorted(events.columns, key=lambda name: rank.get(name, len(rank)))
                events = events.select(order)
            if carried_extra is not None and carried_extra.height:
                extra = pl.concat([carried_extra, extra], how="vertical_relaxed")
            del prepared, new_extra, current
        # number the rows afresh: with_scope indexes each event by its _pos
        events = events.with_row_index(POS)
        extra = (
            extra.join(events.select(_G, POS), on=_G)
            .drop(_G)
            .select(POS, *_EXTRA)
            .sort(POS, "_idx")
        )
        scoped = with_scope(events, extra, has_epoch=True)
        out, keys = summaries(scoped)
        # _pos and _g rise together (carried rows first, in order): a call's first and
        # last row in the recording are read off the summary's own first and last _pos
        g = scoped[_G]
        keyed = keys.lazy().with_columns(
            g.gather(keys["_first_pos"]).alias("_first_g"),
            g.gather(keys["_last_pos"]).alias("_last_g"),
        )
        if last:
            done = pl.lit(True)
            keep = pl.lit(False)
        else:
            # settled: far enough behind the newest event, in time when the events have
            # one (a capture without Timestamp or arrival time has none), else in rows
            newest = scoped[TIME].max()
            if isinstance(newest, datetime):
                cutoff = pl.lit(newest - timedelta(seconds=settle))
                settled_call = (pl.col("last_time") < cutoff).fill_null(
                    pl.col("_last_g") < newest_g - settle_rows
                )
                settled_event = (pl.col(TIME) < cutoff).fill_null(
                    pl.col(_G) < newest_g - settle_rows
                )
            else:
                settled_call = pl.col("_last_g") < newest_g - settle_rows
                settled_event = pl.col(_G) < newest_g - settle_rows
            done = pl.col("_all_hung") & settled_call
            # recent events of no call yet may still join one (Rule 3: a bridge is
            # created before its first channel enters it)
            keep = pl.col(CALL).is_null() & ~settled_event
        keys = keyed.with_columns(done.alias("_done")).collect()
        finished.append(
            out.filter(keys["_done"]).with_columns(keys["_first_g"].filter(keys["_done"]))
        )
        if last:
            break
        open_calls = keys.filter(~pl.col("_done")).select(SCOPE, CALL)
        carry = scoped.lazy().join(open_calls.lazy(), on=[SCOPE, CALL], how="semi")
        strays = scoped.lazy().filter(keep)
        carried = pl.concat([carry, strays]).sort(POS).collect()
        carried_events = carried.drop(POS, SCOPE, CALL)
        carried_extra = extra.join(carried.select(POS, _G), on=POS).select(_G, *_EXTRA)
    if not finished:
        return pl.DataFrame(
            schema=calls_schema() | ({"_first_g": pl.Int64()} if with_order else {})
        )
    out = pl.concat(finished).sort("_first_g", maintain_order=True)
    return out if with_order else out.drop("_first_g")


def _server_runs(lf: pl.LazyFrame) -> dict[Any, list[tuple[int, int]]] | None:
    """Each server's runs of rows (``(first row, rows)``, in order), if there are several
    servers; else None. Only the ``server`` column is read.

    A dataset's parts come in the order they were written, so with several PBXs recorded
    at once the servers' runs alternate, a part (a flush) at a time.
    """
    if "server" not in columns_of(lf):
        return None
    # one chunk: polars' rle() asserts it (a loaded dataset has one per part)
    runs = lf.select("server").collect().rechunk()["server"].rle().struct.unnest()
    by_server: dict[Any, list[tuple[int, int]]] = {}
    start = 0
    for length, server in runs.iter_rows():
        by_server.setdefault(server, []).append((start, length))
        start += length
    return by_server if len(by_server) > 1 else None


# what a worker is sent: the frame (or one server's rows of it) and the runs to read
_WorkerTask = tuple[pl.LazyFrame | pl.DataFrame, list[tuple[int, int]] | None]


def _calls_of(
    frame: pl.LazyFrame | pl.DataFrame, runs: list[tuple[int, int]] | None
) -> pl.DataFrame:
    """In a worker process: one server's calls, with their first row in the frame."""
    return calls_in_slices(frame, runs=runs, with_order=True)


def calls_by_server(frame: pl.LazyFrame | pl.DataFrame, *, workers: int) -> pl.DataFrame:
    """:func:`calls_in_slices` of each server's events in its own process.

    Exact: calls never span servers (Rule 8). Each worker reads its server's runs of rows
    as slices of the frame (on a Parquet scan the slices reach the reader, where a filter
    on ``server`` would be re-read up to every slice) and numbers them in the whole frame,
    so the calls of all servers merge into the order of one pass. The servers with the
    most events go first, so that no worker is left with the biggest at the end.
    """
    lf = lazy(frame)
    by_server = _server_runs(lf)
    if by_server is None:
        return calls_in_slices(lf)
    runs = [run for server_runs in by_server.values() for run in server_runs]
    if sum(n for _, n in runs) < MIN_MEAN_RUN * len(runs):
        # servers that alternate every few rows (a frame sorted by time): reading them
        # run by run would cost more than the workers save
        return calls_in_slices(lf)
    servers = sorted(by_server.values(), key=lambda runs: -sum(n for _, n in runs))

    def task(runs: list[tuple[int, int]]) -> _WorkerTask:
        if isinstance(frame, pl.DataFrame):
            # only this server's rows travel to the worker, numbered as in the frame (_g)
            rows = pl.concat([frame.slice(a, n).with_row_index(_G, offset=a) for a, n in runs])
            return rows.with_columns(pl.col(_G).cast(pl.Int64)).rechunk(), None
        return lf, runs

    results: list[pl.DataFrame] = []
    # spawn, not fork: polars' thread pool does not survive a fork
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        running: set[Future[pl.DataFrame]] = set()
        while servers or running:
            # no more servers in flight than workers: a frame's rows are copies
            while servers and len(running) < workers:
                running.add(pool.submit(_calls_of, *task(servers.pop(0))))
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            results += [future.result() for future in finished]
    return pl.concat(results).sort("_first_g").drop("_first_g")
