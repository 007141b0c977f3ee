"""Duplicates and repeats: ``collapse`` (frames) and ``Collapser`` (live messages).

Two different things look alike:

* a **duplicate** is one event delivered more than once - two AMI sessions recorded
  together, an overlap after a reconnect, a handler registered twice. Its content is
  identical; only per-delivery fields differ (:data:`PER_DELIVERY`: arrival time, server,
  connection, sequence number, ActionID). Duplicates are removed.
* a **repeat** is the server sending an identical event again (the same ``DialEnd
  CANCEL`` twice, a periodic status). Apart from the per-delivery fields, only its time
  differs (:data:`REPEAT_IGNORES`). A run of consecutive repeats becomes one row with
  ``count``, ``first`` and ``last``.

Rules, shared by both forms:

Rule 1 - a delivery stream is ``(server, connection)``.
Rule 2 - within one stream, two rows with the same ``seq`` and the same content are one
  delivery recorded twice (a handler registered twice, a file loaded twice).
Rule 3 - across streams, the k-th occurrence of a content in one stream and the k-th
  occurrence of the same content in another stream are the same event; the first
  delivery (in frame order) is kept.
Rule 4 - after that, consecutive rows whose content is equal ignoring time are one run.
Rule 5 - a frame that was already collapsed (it has ``count``, ``first``, ``last``, e.g. a
  recording made with ``Recorder(transform=collapse)``, whose runs stop at each flush) collapses
  again consistently: those columns are not content, a run's ``count`` is the sum of its
  rows' counts, ``first`` that of its first row and ``last`` that of its last row.

The batch form hashes the content columns with polars (a 64-bit hash of the whole
row's content; a collision is astronomically unlikely); the live form keys the same
fields in Python, in a bounded memory window.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ..record import message_row

if TYPE_CHECKING:
    from ..protocol import Message
    from ._frame import FrameT

__all__ = ["PER_DELIVERY", "REPEAT_IGNORES", "Collapsed", "Collapser", "collapse"]

#: Fields that differ between two deliveries of the same event.
PER_DELIVERY: frozenset[str] = frozenset(
    {"received_at", "server", "connection", "seq", "action_id"}
)
#: Fields that may differ between two repeats of one event (besides PER_DELIVERY);
#: ``Timestamp`` is the server time's exact text kept in ``extra``.
REPEAT_IGNORES: frozenset[str] = frozenset({"timestamp", "Timestamp"})
#: The columns collapse adds (Rule 5: never content).
RUN_COLUMNS: tuple[str, ...] = ("count", "first", "last")


def collapse(frame: FrameT) -> FrameT:
    """Remove duplicate deliveries and fold runs of repeated events.

    Parameters
    ----------
    frame
        Events as ``amikit.load``/``amikit.scan`` return them, possibly several
        recordings concatenated or interleaved.

    Returns
    -------
    DataFrame or LazyFrame
        One row per distinct event or run of repeats, in frame order, with the input's
        columns plus ``count`` (events in the run), ``first`` and ``last`` (their times:
        server ``Timestamp``, else arrival). Same kind as the input.
    """
    import polars as pl

    from ._frame import POS, TIME, lazy, time_expr

    # The keys are computed eagerly on integer hashes (``hash_rows``: one pass over the
    # row, much faster than hashing a struct); the rules then run on a frame of four
    # integer columns, and the output is one gather of the kept rows.
    df = lazy(frame).collect()
    cols = df.columns
    have = set(cols)
    content = [c for c in cols if c not in PER_DELIVERY and c not in RUN_COLUMNS]
    runs_in = all(c in have for c in RUN_COLUMNS)  # Rule 5
    repeat_cols = [c for c in content if c not in REPEAT_IGNORES and c != "extra"]
    stream_cols = [c for c in ("server", "connection") if c in have]
    n = df.height
    pos = pl.int_range(n, dtype=pl.Int64, eager=True).alias(POS)
    keys = pl.DataFrame(
        {
            POS: pos,
            "_h": df.select(content).hash_rows() if content else pl.repeat(0, n, eager=True),
            "_stream": df.select(stream_cols).hash_rows()
            if stream_cols
            else pl.repeat(0, n, dtype=pl.UInt64, eager=True),
            "_seq": df.select(
                pl.coalesce(pl.col("seq").cast(pl.Int64), -pos - 1) if "seq" in have else -pos - 1
            ).to_series(),
        }
    )
    repeat_frame = df.select(repeat_cols)
    if "extra" in have:
        repeat_frame = repeat_frame.with_columns(
            df.select(
                pl.col("extra").list.eval(
                    pl.element().filter(pl.element().struct.field("key") != "Timestamp")
                )
            ).to_series()
        )
    keys = keys.with_columns(repeat_frame.hash_rows().alias("_r"))
    times = df.with_columns(time_expr(cols)).get_column(TIME)
    keys = keys.with_columns(times)
    if runs_in:
        keys = keys.with_columns(
            df.get_column("count").fill_null(1).cast(pl.Int64).alias("_n"),
            pl.coalesce(df.get_column("first"), times).alias("_first"),
            pl.coalesce(df.get_column("last"), times).alias("_last"),
        )
    else:
        keys = keys.with_columns(
            pl.lit(1, dtype=pl.Int64).alias("_n"),
            times.alias("_first"),
            times.alias("_last"),
        )
    # Rule 2: the same delivery recorded twice
    keys = keys.unique(subset=["_stream", "_seq", "_h"], keep="first", maintain_order=True)
    # Rule 3: the k-th occurrence of a content in each stream is the same event
    keys = keys.with_columns(pl.int_range(pl.len()).over("_stream", "_h").alias("_occ"))
    keys = keys.unique(subset=["_h", "_occ"], keep="first", maintain_order=True)
    # Rule 4: runs of repeats
    new_run = (pl.col("_r") != pl.col("_r").shift(1)).fill_null(True)
    runs = (
        keys.with_columns(new_run.cum_sum().alias("_run"))
        .group_by("_run", maintain_order=True)
        .agg(
            pl.col(POS).first(),
            pl.col("_n").sum().alias("count"),
            pl.col("_first").first().alias("first"),
            pl.col("_last").last().alias("last"),
        )
    )
    kept = df.drop(RUN_COLUMNS, strict=False)[runs[POS]]
    out = kept.with_columns(runs["count"], runs["first"], runs["last"])
    return out if isinstance(frame, pl.DataFrame) else out.lazy()


@dataclass
class Collapsed:
    """What :meth:`Collapser.feed` decided about one message.

    ``status`` is ``"new"`` (show it), ``"repeat"`` (identical to the previous kept
    message except for its time: ``item`` is that earlier entry, its ``count`` and
    ``last`` now updated) or ``"duplicate"`` (another delivery of an event already seen:
    drop it; ``item`` is ``None``).
    """

    status: Literal["new", "repeat", "duplicate"]
    item: CollapsedItem | None


@dataclass
class CollapsedItem:
    """A kept message and its run of repeats."""

    message: Message
    count: int
    first: datetime | None
    last: datetime | None


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple((item["key"], item["value"]) for item in value)
    return value


class Collapser:
    """The rules of :func:`collapse`, applied to live messages one at a time.

    Parameters
    ----------
    window
        How many recent event identities to remember for duplicate detection (older
        ones are forgotten, bounding memory on an endless stream).

    Examples
    --------
    >>> collapser = Collapser()
    >>> for message in messages:  # doctest: +SKIP
    ...     result = collapser.feed(message, stream="pbx1")
    ...     if result.status == "new":
    ...         print(message.name)
    """

    def __init__(self, window: int = 100_000) -> None:
        self.window = window
        self._deliveries: OrderedDict[tuple[Any, ...], None] = OrderedDict()
        self._occurrences: dict[tuple[Any, ...], int] = {}
        self._events: OrderedDict[tuple[Any, ...], None] = OrderedDict()
        self._current: CollapsedItem | None = None
        self._current_key: tuple[Any, ...] | None = None

    @staticmethod
    def _keys(row: dict[str, Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        content = tuple(
            (k, _freeze(v))
            for k, v in sorted(row.items())
            if k not in PER_DELIVERY and v is not None
        )
        repeat = tuple(
            (k, v) for k, v in content if k not in REPEAT_IGNORES and k != "extra"
        ) + tuple((k, v) for k, v in dict(content).get("extra", ()) if k != "Timestamp")
        return content, repeat

    def _remember(self, store: OrderedDict[tuple[Any, ...], None], key: tuple[Any, ...]) -> bool:
        if key in store:
            return False
        store[key] = None
        if len(store) > self.window:
            store.popitem(last=False)
        return True

    def feed(self, message: Message, *, stream: Any = None, seq: int | None = None) -> Collapsed:
        """Judge one message (``stream`` names its delivery, e.g. the server)."""
        row = message_row(message)
        stream_key = (stream, message.connection)
        content, repeat = self._keys(row)
        seq = seq if seq is not None else message.seq
        time = row.get("timestamp") or row.get("received_at")
        if seq is not None and not self._remember(self._deliveries, (stream_key, seq, content)):
            return Collapsed("duplicate", None)
        occ_key = (stream_key, content)
        occurrence = self._occurrences.get(occ_key, 0)
        self._occurrences[occ_key] = occurrence + 1
        if len(self._occurrences) > self.window:
            self._occurrences.pop(next(iter(self._occurrences)))
        if not self._remember(self._events, (content, occurrence)):
            return Collapsed("duplicate", None)
        if self._current is not None and repeat == self._current_key:
            self._current.count += 1
            self._current.last = time
            return Collapsed("repeat", self._current)
        self._current = CollapsedItem(message, 1, time, time)
        self._current_key = repeat
        return Collapsed("new", self._current)
