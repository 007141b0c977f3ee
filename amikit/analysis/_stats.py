"""Statistics over calls (``stats``) and over raw events (``event_rate``).

``stats`` returns one tidy frame: a row per (breakdown, key) with the same metric
columns, so "per hour", "per caller" or "per hangup cause" are filters of one result
(``stats(c).filter(pl.col("by") == "dialed")``). Everything is a polars aggregation.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ._frame import TIME, FrameT, columns_of, lazy, like, time_expr

__all__ = ["BREAKDOWNS", "event_rate", "stats"]

#: The breakdowns of :func:`stats`, in output order.
BREAKDOWNS: tuple[str, ...] = (
    "all",
    "day",
    "hour",
    "disposition",
    "hangup_cause",
    "caller",
    "dialed",
    "queue",
)


def _key(by: str) -> pl.Expr:
    keys = {
        "all": pl.lit("all"),
        "day": pl.col("start").dt.strftime("%Y-%m-%d"),
        "hour": pl.col("start").dt.strftime("%Y-%m-%d %H:00"),
        "disposition": pl.col("disposition"),
        "hangup_cause": pl.format(
            "{} {}", pl.col("hangup_cause").fill_null("?"), pl.col("hangup_cause_txt").fill_null("")
        ).str.strip_chars(),
        "caller": pl.col("caller_num"),
        "dialed": pl.col("dialed"),
        "queue": pl.col("queue"),
    }
    return keys[by]


# Rule 7 of ._rules: a call the recording did not see whole has no trustworthy outcome
_WHOLE = "_whole"
# breakdowns by outcome: only calls seen whole have one
_OUTCOME_BREAKDOWNS = frozenset({"disposition", "hangup_cause"})


def _metrics() -> list[pl.Expr]:
    whole = pl.col(_WHOLE)
    d = pl.col("duration").filter(whole)
    b = pl.col("billsec").filter(whole)
    answered = pl.col("answered") & whole
    n = whole.sum().cast(pl.Int64)
    return [
        n.alias("calls"),
        answered.sum().cast(pl.Int64).alias("answered"),
        pl.when(n > 0).then(answered.sum() / n).alias("asr"),
        pl.col("in_progress").sum().cast(pl.Int64).alias("in_progress"),
        (pl.col("joined_late") & ~pl.col("in_progress")).sum().cast(pl.Int64).alias("joined_late"),
        d.mean().alias("mean_duration"),
        d.quantile(0.5, "linear").alias("p50_duration"),
        d.quantile(0.9, "linear").alias("p90_duration"),
        d.quantile(0.95, "linear").alias("p95_duration"),
        pl.col("billsec").filter(answered).mean().alias("mean_billsec"),
        pl.col("billsec").filter(answered).quantile(0.5, "linear").alias("p50_billsec"),
        pl.col("billsec").filter(answered).quantile(0.9, "linear").alias("p90_billsec"),
        b.sum().alias("total_billsec"),
        pl.col("ring_time").filter(answered).mean().alias("mean_ring_time"),
        pl.col("queue_wait").filter(whole).mean().alias("mean_queue_wait"),
    ]


def stats(
    calls_frame: FrameT,
    by: Sequence[str] = BREAKDOWNS,
    *,
    per_server: bool = False,
    workers: int = 1,
) -> FrameT:
    """Call statistics: counts, answer-seizure ratio, durations, by several breakdowns.

    Parameters
    ----------
    calls_frame
        The output of :func:`calls` (a frame of events is accepted too: its calls are
        computed first).
    by
        Which breakdowns, from :data:`BREAKDOWNS`: ``all``, ``day``, ``hour``,
        ``disposition``, ``hangup_cause``, ``caller``, ``dialed``, ``queue``.
    per_server
        Every breakdown within each PBX of a recording of several (``amikit record A B``):
        a first column ``server``, rows by server (ascending), then as without it. A
        recording of one PBX gives the same rows as without it, plus that column.
    workers
        For a frame of events: its calls are grouped in up to this many processes
        (:func:`calls`, ``workers``); ignored for a frame of calls.

    Returns
    -------
    DataFrame or LazyFrame
        Columns ``by`` (the breakdown), ``key`` (its value), ``calls`` (seen whole),
        ``answered``, ``asr`` (answered / calls), ``in_progress`` (calls not ended when
        the recording stopped), ``joined_late`` (finished calls that began before it),
        ``mean_duration``, ``p50_duration``,
        ``p90_duration``, ``p95_duration``, ``mean_billsec``, ``p50_billsec``,
        ``p90_billsec`` (answered calls), ``total_billsec``, ``mean_ring_time`` (answered
        calls), ``mean_queue_wait`` (seconds). Rows keep the order of ``by``; within a
        breakdown, time keys ascend and other keys go by descending number of calls.

    Examples
    --------
    >>> fleet = amikit.load("recordings/fleet")                      # doctest: +SKIP
    >>> stats(calls(fleet), by=["all"], per_server=True)             # doctest: +SKIP
    """
    lf = lazy(calls_frame)
    if "event" in columns_of(lf) and "disposition" not in columns_of(lf):
        from ._calls import calls

        lf = lazy(calls(lf, workers=workers))
    unknown = [b for b in by if b not in BREAKDOWNS]
    if unknown:
        from .._exceptions import UsageError

        msg = f"unknown breakdown(s) {unknown}; choose from {list(BREAKDOWNS)}"
        raise UsageError(msg)
    have = set(columns_of(lf))
    flags = [
        (pl.col(f) if f in have else pl.lit(False)).fill_null(False).alias(f)
        for f in ("in_progress", "joined_late")
    ]
    lf = lf.with_columns(flags).with_columns(
        (~pl.col("in_progress") & ~pl.col("joined_late")).alias(_WHOLE)
    )
    # Per server, the server is one more grouping key (and the first sort key): a call
    # belongs to one server (calls() never groups across servers), so nothing is shared.
    if per_server and "server" not in have:
        lf = lf.with_columns(pl.lit(None, dtype=pl.String).alias("server"))
    group = ["server", "key"] if per_server else ["key"]
    parts = []
    for i, name in enumerate(by):
        rows = lf.filter(pl.col(_WHOLE)) if name in _OUTCOME_BREAKDOWNS else lf
        part = (
            rows.with_columns(_key(name).cast(pl.String).alias("key"))
            .filter(pl.col("key").is_not_null())
            .group_by(group)
            .agg(_metrics())
            .with_columns(pl.lit(name).alias("by"), pl.lit(i).alias("_order"))
        )
        sort = ["key"] if name in ("day", "hour", "all") else ["calls", "key"]
        descending = [False] if len(sort) == 1 else [True, False]
        parts.append(part.sort(sort, descending=descending))
    order = ["server", "_order"] if per_server else ["_order"]
    out = pl.concat(parts, how="vertical").sort(order, maintain_order=True).drop("_order")
    out = out.select(*group[:-1], "by", "key", pl.all().exclude(*group, "by"))
    return like(out, calls_frame)


def event_rate(
    frame: FrameT,
    every: str = "1s",
    *,
    by: str | None = None,
) -> FrameT:
    """How many events arrived per interval.

    Parameters
    ----------
    frame
        Events as ``amikit.load``/``amikit.scan`` return them.
    every
        Interval length as a polars duration string (``"1s"``, ``"100ms"``, ``"1m"``).
    by
        Optional column to split the counts by (e.g. ``"event"``).

    Returns
    -------
    DataFrame or LazyFrame
        ``time`` (interval start; server ``Timestamp``, else arrival time), ``by``'s
        column if given, and ``events``. Without ``by``, empty intervals between the
        first and last event are present with 0. Events with no time are not counted.
    """
    lf = lazy(frame)
    cols = columns_of(lf)
    timed = lf.with_columns(time_expr(cols)).filter(pl.col(TIME).is_not_null())
    slot = pl.col(TIME).dt.truncate(every).alias("time")
    keys = [slot] if by is None else [slot, pl.col(by)]
    counts = timed.group_by(keys).agg(pl.len().cast(pl.Int64).alias("events"))
    if by is not None:
        return like(counts.sort("time", by), frame)
    epoch = pl.lit(0).cast(pl.Datetime("us", "UTC"))
    first, last = pl.col("time").min(), pl.col("time").max()
    grid = counts.select(
        # (an empty frame gives a one-slot grid at the epoch, dropped below)
        pl.datetime_range(first.fill_null(epoch), last.fill_null(epoch), every).alias("time")
    )
    bounds = counts.select(first.alias("_first"), last.alias("_last"))
    out = (
        grid.join(bounds, how="cross")
        .filter(pl.col("time").is_between(pl.col("_first"), pl.col("_last")))
        .drop("_first", "_last")
        .join(counts, on="time", how="left")
        .with_columns(pl.col("events").fill_null(0))
    )
    return like(out.sort("time"), frame)
