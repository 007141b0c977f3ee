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

Several processes (:func:`calls_in_pieces`): the grouper is a state machine whose whole
state between slices is small (the carried events and the epoch rules), so a piece of the
recording can be grouped before the piece in front of it is done, on a guess of that
state, and checked afterwards: where the guess and the truth reach the same state, the
rest of the piece is right as it is.
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
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
from ._rules import LINK_KEYS, EpochRule

__all__ = ["SETTLE_ROWS", "SETTLE_SECONDS", "SLICE_ROWS", "calls_in_pieces", "calls_in_slices"]

#: Rows read per slice: a peak of about 1 GiB on Asterisk 22 traffic (benchmarks/bench_scale.py).
SLICE_ROWS = 150_000
#: A finished call is final once the recording has gone this far past its last event.
SETTLE_SECONDS = 60.0

#: ... or, for events with no time at all, this many events past it.
SETTLE_ROWS = 20_000


_log = logging.getLogger(__name__)

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


class _SliceGrouper:
    """The state machine behind :func:`calls_in_slices`: feed it slices in order.

    Its whole state between slices is :meth:`state`: the events (and their ``extra``
    entries) carried into the next slice, and each (server, session)'s epoch rule. Two
    grouper runs that reach the same state at the same row go on identically, which is
    what lets :func:`calls_in_pieces` start a piece of a recording before the piece in
    front of it is done, and check afterwards that it guessed right.
    """

    def __init__(self, state: _State | None = None, *, settle: float, settle_rows: int) -> None:
        self.settle = settle
        self.settle_rows = settle_rows
        self.rules: dict[Any, EpochRule] = {}
        self.carried_events: pl.DataFrame | None = None  # prepared columns + _g + epoch
        self.carried_extra: pl.DataFrame | None = None  # extra entries of those events, by _g
        if state is not None:
            events, extra, rules = state
            self.carried_events, self.carried_extra = events, extra
            self.rules = copy.deepcopy(rules)
        self.offset = 0  # rows read, for slices without _g

    def state(self) -> _State:
        return self.carried_events, self.carried_extra, copy.deepcopy(self.rules)

    def step(self, current: pl.DataFrame | None, *, last: bool) -> pl.DataFrame | None:
        """Group one more slice (None: no more rows); returns the calls now final, each
        with its first row (``_first_g``), or None when there was nothing to group."""
        carried_events, carried_extra = self.carried_events, self.carried_extra
        if current is None:
            if carried_events is None or carried_events.height == 0:
                return None
            assert carried_extra is not None  # carried with the events
            events, extra = carried_events, carried_extra
            newest_g = -1
        else:
            if _G in current.columns:  # rows of a run: numbered in the whole frame
                numbers = current[_G].cast(pl.Int64)
                current = current.drop(_G)
            else:
                numbers = pl.int_range(self.offset, self.offset + current.height, eager=True)
            newest_g = int(numbers[-1])
            prepared, new_extra = prepare(current)
            prepared = prepared.with_columns(numbers.alias(_G))
            prepared = prepared.with_columns(_epochs(prepared, new_extra, self.rules))
            extra = new_extra.join(prepared.select(POS, _G), on=POS).select(_G, *_EXTRA)
            self.offset += current.height
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
            settle_rows = self.settle_rows
            if isinstance(newest, datetime):
                cutoff = pl.lit(newest - timedelta(seconds=self.settle))
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
        finished = out.filter(keys["_done"]).with_columns(keys["_first_g"].filter(keys["_done"]))
        if last:
            self.carried_events = self.carried_extra = None
            return finished
        open_calls = keys.filter(~pl.col("_done")).select(SCOPE, CALL)
        carry = scoped.lazy().join(open_calls.lazy(), on=[SCOPE, CALL], how="semi")
        strays = scoped.lazy().filter(keep)
        carried = pl.concat([carry, strays]).sort(POS).collect()
        carried_events = carried.drop(POS, SCOPE, CALL)
        # as ``prepare`` does for a slice: an id column that no carried event fills is
        # dropped, so the state is the same whatever events were carried before (the
        # stitch of pieces compares states)
        n = carried_events.height
        empty = [
            c
            for c in carried_events.columns
            if c.lower() in LINK_KEYS and carried_events[c].null_count() == n
        ]
        self.carried_events = carried_events.drop(empty)
        self.carried_extra = extra.join(carried.select(POS, _G), on=POS).select(_G, *_EXTRA)
        return finished


#: What a :class:`_SliceGrouper` carries from one slice to the next.
_State = tuple[pl.DataFrame | None, pl.DataFrame | None, dict[Any, EpochRule]]


def _same_state(a: _State, b: _State) -> bool:
    """Exactly equal states: the same events (columns in the same order), the same rules."""

    def same(x: pl.DataFrame | None, y: pl.DataFrame | None) -> bool:
        if x is None or x.height == 0 or y is None or y.height == 0:
            return (x is None or x.height == 0) and (y is None or y.height == 0)
        return x.schema == y.schema and x.equals(y, null_equal=True)

    rules_a = {key: vars(rule) for key, rule in a[2].items()}
    rules_b = {key: vars(rule) for key, rule in b[2].items()}
    return same(a[0], b[0]) and same(a[1], b[1]) and rules_a == rules_b


def _merged(finished: list[pl.DataFrame]) -> pl.DataFrame:
    """The calls made final step by step, in the order of their first event."""
    if not finished:
        return pl.DataFrame(schema=calls_schema())
    return pl.concat(finished).sort("_first_g", maintain_order=True).drop("_first_g")


def calls_in_slices(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    slice_rows: int = SLICE_ROWS,
    settle: float = SETTLE_SECONDS,
    settle_rows: int = SETTLE_ROWS,
) -> pl.DataFrame:
    """:func:`._calls.calls` of ``frame``, reading ``slice_rows`` events at a time."""
    grouper = _SliceGrouper(settle=settle, settle_rows=settle_rows)
    finished: list[pl.DataFrame] = []
    # no look-ahead: one slice in memory at a time; the carried events are summed up
    # after the last one
    for current in chain(_slices(lazy(frame), slice_rows), [None]):
        # the end is the empty step after the slices, or a short slice (the only one,
        # for most recordings: then no carrying at all)
        last = current is None or current.height < slice_rows
        out = grouper.step(current, last=last)
        if out is not None:
            finished.append(out)
        if last:
            break
    return _merged(finished)


#: Rows of an epoch pre-pass slice: it reads a few narrow columns only.
_EPOCH_SLICE_ROWS = 4 * SLICE_ROWS

# what the epoch rules read (``_epochs``): names as recorded
_EPOCH_COLUMNS = frozenset(
    {"event", "timestamp", "received_at", "extra", "server", "session", "connection", "kind"}
    | {"Uniqueid"}
)


def _feed_epoch_rules(lf: pl.LazyFrame, first: int, rows: int, rules: dict[Any, EpochRule]) -> None:
    """Feed the rows ``first`` .. ``first + rows`` of ``lf`` to each (server, session)'s
    epoch rule (Rule 8), in place: what a grouper has carried by then, at a fifth of the
    cost, since the rule reads a handful of columns. (Its own slicing is fine: the extra
    rows the rule sees at each slice's start move no rule.)"""
    light = lf.select([c for c in columns_of(lf) if c in _EPOCH_COLUMNS])
    for at in range(first, first + rows, _EPOCH_SLICE_ROWS):
        part = light.slice(at, min(_EPOCH_SLICE_ROWS, first + rows - at)).collect()
        if part.height:
            prepared, extra = prepare(part)
            _epochs(prepared, extra, rules)


def _piece_steps(piece: _Piece, rows: int) -> Iterator[tuple[pl.DataFrame | None, bool]]:
    """The slices of one piece with, for each, whether it ends the recording: as
    :func:`calls_in_slices` steps, except that a piece with more after it never ends."""
    source, runs, _, final = piece
    lf = lazy(source)
    reader = _slices(lf, rows) if runs is None else _run_slices(lf, runs, rows)
    for current in reader:
        if final and current.height < rows:
            yield current, True
            return
        yield current, False
    if final:
        yield None, True


# A piece as a worker is sent it: the rows to group (a scan and its row range, or the
# rows themselves numbered ``_g``, range None), the epoch rules at its first row, and
# whether it ends the recording.
_Piece = tuple[
    pl.LazyFrame | pl.DataFrame, list[tuple[int, int]] | None, dict[Any, EpochRule], bool
]
# What a worker returns: the calls each step made final, the grouper's state after each
# of its first PROBE_STEPS steps, and its state at the end.
_PieceResult = tuple[list[pl.DataFrame | None], list[_State], _State]

#: Steps a piece's grouper keeps its state for, to be matched by the stitch.
PROBE_STEPS = 8


def _group_piece(piece: _Piece, slice_rows: int, settle: float, settle_rows: int) -> _PieceResult:
    """In a worker process: group one piece, on a guess of what came before it.

    The guess is that no event is carried into the piece: wrong only for the calls still
    open at its first row, whose events are few (its epoch rules are the true ones). The
    stitch (:func:`_stitch`) corrects it.
    """
    grouper = _SliceGrouper((None, None, piece[2]), settle=settle, settle_rows=settle_rows)
    steps: list[pl.DataFrame | None] = []
    probes: list[_State] = []
    for current, last in _piece_steps(piece, slice_rows):
        steps.append(grouper.step(current, last=last))
        if len(probes) < PROBE_STEPS:
            probes.append(grouper.state())
    return steps, probes, grouper.state()


def _stitch(
    piece: _Piece,
    state: _State,
    guessed: _PieceResult,
    slice_rows: int,
    settle: float,
    settle_rows: int,
) -> tuple[list[pl.DataFrame | None], _State]:
    """A piece's calls given the true state at its first row (the end of the piece before).

    Re-groups its first slices from that state until the state matches the worker's
    after the same slice; from there on the two runs are the same machine on the same
    rows, so the worker's calls are taken as they are. If they never match within the
    probed steps (a call open across the whole of them), the piece is re-grouped whole.
    """
    steps, probes, end = guessed
    grouper = _SliceGrouper(state, settle=settle, settle_rows=settle_rows)
    out: list[pl.DataFrame | None] = []
    for i, (current, last) in enumerate(_piece_steps(piece, slice_rows)):
        out.append(grouper.step(current, last=last))
        if i < len(probes) and _same_state(grouper.state(), probes[i]):
            _log.debug("piece stitched after %d of its %d slices", i + 1, len(steps))
            return out + steps[i + 1 :], end
    _log.debug("piece re-grouped whole (%d slices): no state matched", len(steps))
    return out, grouper.state()


#: What the epoch pre-pass costs per row, against grouping a row (measured at 10M
#: events: 1.1 against 4.5 us): each piece is that much shorter than the one before,
#: so that the pieces, pre-pass included, take about as long.
_PRE_PASS_SHARE = 0.25


def _piece_bounds(total: int, count: int) -> list[tuple[int, int]]:
    """``count`` consecutive ``(first row, rows)`` covering ``total`` rows, each
    ``1 - _PRE_PASS_SHARE`` times the one before."""
    ratio = 1.0 - _PRE_PASS_SHARE
    weights = [ratio**k for k in range(count)]
    ends = [round(total * sum(weights[: k + 1]) / sum(weights)) for k in range(count)]
    starts = [0, *ends[:-1]]
    return [(a, b - a) for a, b in zip(starts, ends, strict=True)]


def _piece(frame: pl.LazyFrame | pl.DataFrame, first: int, rows: int, final: bool) -> _Piece:
    if isinstance(frame, pl.DataFrame):
        # only these rows travel to the worker, numbered as in the frame (_g)
        part = frame.slice(first, rows).with_row_index(_G, offset=first)
        part = part.with_columns(pl.col(_G).cast(pl.Int64))
        return part, None, {}, final
    return frame, [(first, rows)], {}, final


def calls_in_pieces(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    workers: int,
    slice_rows: int = SLICE_ROWS,
    settle: float = SETTLE_SECONDS,
    settle_rows: int = SETTLE_ROWS,
    min_piece_rows: int | None = None,
) -> pl.DataFrame:
    """:func:`calls_in_slices` in up to ``workers`` processes, exactly.

    The events are cut into consecutive pieces in time (a day of a week's recording, say;
    every server's events of that time), at least ``min_piece_rows`` rows each (default:
    two slices). A worker groups a piece as if no call were open at its first row, with
    the epoch rules (Rule 8) this process works out from the narrow columns of the rows
    before it. The pieces are then stitched in order, here: each piece's first slices are
    re-grouped with the calls really open at its start, carried over from the piece
    before as :class:`.CallTracker` carries live channels, until the grouper's state is
    the one the worker reached; from there on the worker's calls are those of one pass.

    Rows are numbered in the whole frame, so the calls of all pieces merge into the order
    of one pass. A piece with more rows before it is shorter, by what its pre-pass costs.
    """
    lf = lazy(frame)
    total = lf.select(pl.len()).collect().item()
    smallest = 2 * slice_rows if min_piece_rows is None else min_piece_rows
    count = min(workers, total // max(smallest, 1))
    if count <= 1:
        return calls_in_slices(lf, slice_rows=slice_rows, settle=settle, settle_rows=settle_rows)
    bounds = _piece_bounds(total, count)
    pieces = [_piece(frame, first, rows, k == count - 1) for k, (first, rows) in enumerate(bounds)]
    finished: list[pl.DataFrame] = []
    # spawn, not fork: polars' thread pool does not survive a fork
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        futures: list[Future[_PieceResult]] = []
        rules: dict[Any, EpochRule] = {}
        for k, piece in enumerate(pieces):
            if k:  # the rules at this piece's first row: fed the piece before it
                _feed_epoch_rules(lf, *bounds[k - 1], rules)
                piece = (piece[0], piece[1], copy.deepcopy(rules), piece[3])
                pieces[k] = piece
            futures.append(pool.submit(_group_piece, piece, slice_rows, settle, settle_rows))
        state: _State | None = None
        for piece, future in zip(pieces, futures, strict=True):
            result = future.result()
            if state is None:  # the first piece: nothing came before it
                steps, state = result[0], result[2]
            else:
                steps, state = _stitch(piece, state, result, slice_rows, settle, settle_rows)
            finished.extend(f for f in steps if f is not None)
    return _merged(finished)
