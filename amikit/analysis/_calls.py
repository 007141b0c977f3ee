"""Grouping events into calls (``with_call_id``) and one summary row per call (``calls``).

Strategy: everything per event is a polars expression on a LazyFrame; only the links
between ids go through Python.

1. ``prepare`` numbers the rows (``_pos``), picks the event time (``_time``), normalises
   AMI 1.x ``Dial`` into ``DialBegin``/``DialEnd`` (``_ev``), takes the event's own channel
   id (``_uid``) and gathers every channel id the event mentions (``_ids``: Rule 1 of
   :mod:`._rules`, the ``LINK_KEYS`` fields, wide or in ``extra``).
2. The links are the distinct pairs (first id of an event, each other id) plus the Local
   ``;1``/``;2`` pairs (Rule 2, an as-of join). They are far fewer than events (a few per
   channel), so a Python union-find over them is cheap.
3. Each event gets its call from its first id; events with no id but a bridge id get the
   call of the first channel seen in that bridge (Rule 3); the call id is the first
   Linkedid of the call (Rule 4).
4. ``calls`` aggregates per channel and per call in polars, then hands the facts of each
   call to :func:`._rules.summarize_call` - the same function the live ``CallTracker``
   uses - so batch and live cannot disagree on what a disposition is.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ._frame import POS, TIME, columns_of, lazy, like, require, time_expr
from ._rules import (
    CALL_COLUMNS,
    LINK_KEYS,
    PLACEHOLDER_IDS,
    CallFacts,
    ChannelFacts,
    UnionFind,
    summarize_call,
)

__all__ = ["calls", "prepare", "with_call_id"]

EV = "_ev"
UID = "_uid"
IDS = "_ids"
CALL = "call_id"

_GOOD_CID = ~pl.element().is_in(["", "<unknown>", "<Unknown>"])


def _extra_keys(keys: frozenset[str]) -> pl.Expr:
    """The values of ``extra`` entries whose lower-cased key is in ``keys``, as a list."""
    return pl.col("extra").list.eval(
        pl.element()
        .filter(pl.element().struct.field("key").str.to_lowercase().is_in(list(keys)))
        .struct.field("value")
    )


def _extra_first(key: str) -> pl.Expr:
    return (
        pl.col("extra")
        .list.eval(
            pl.element()
            .filter(pl.element().struct.field("key").str.to_lowercase() == key)
            .struct.field("value")
        )
        .list.first()
    )


def prepare(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Add the helper columns ``_pos``, ``_time``, ``_ev``, ``_uid`` and ``_ids`` (lazy)."""
    lf = lazy(frame)
    require(lf, ["event"])
    cols = columns_of(lf)
    have = set(cols)
    if POS not in have:
        lf = lf.with_row_index(POS)
    wide_ids = [c for c in cols if c.lower() in LINK_KEYS]
    parts: list[pl.Expr] = [pl.col(c) for c in wide_ids]
    has_extra = "extra" in have
    if has_extra:
        parts.append(_extra_keys(LINK_KEYS))
    ids = (
        pl.concat_list(parts).list.eval(
            pl.element().filter(
                pl.element().is_not_null() & ~pl.element().is_in(list(PLACEHOLDER_IDS))
            )
        )
        if parts
        else pl.lit([], dtype=pl.List(pl.String))
    )
    uid_parts = [pl.col("Uniqueid")] if "Uniqueid" in have else []
    if has_extra:
        uid_parts.append(_extra_first("uniqueid"))
    uid = pl.coalesce(uid_parts) if uid_parts else pl.lit(None, dtype=pl.String)
    uid = pl.when(uid.is_in(list(PLACEHOLDER_IDS))).then(None).otherwise(uid)
    if has_extra:
        subevent = _extra_first("subevent")
        ev = (
            pl.when((pl.col("event") == "Dial") & subevent.is_not_null())
            .then(pl.lit("Dial") + subevent.str.to_titlecase())
            .otherwise(pl.col("event"))
        )
    else:
        ev = pl.col("event")
    return lf.with_columns(
        time_expr(cols),
        ev.alias(EV),
        uid.alias(UID),
        ids.alias(IDS),
    )


def _local_pair_links(prepared: pl.LazyFrame, cols: list[str]) -> pl.LazyFrame:
    """Links ``;2`` -> most recent earlier ``;1`` of the same Local name (Rule 2)."""
    if "Channel" not in cols:
        return pl.LazyFrame(schema={"a": pl.String, "b": pl.String})
    chans = (
        prepared.filter(pl.col(UID).is_not_null() & pl.col("Channel").str.starts_with("Local/"))
        .group_by(UID)
        .agg(pl.col("Channel").first(), pl.col(POS).min())
        .with_columns(
            pl.col("Channel").str.extract(r"^(Local/.+);[12]$", 1).alias("_prefix"),
            pl.col("Channel").str.extract(r";([12])$", 1).alias("_half"),
        )
        .filter(pl.col("_prefix").is_not_null())
    )
    ones = (
        chans.filter(pl.col("_half") == "1")
        .select("_prefix", pl.col(POS), pl.col(UID).alias("b"))
        .sort(POS)
    )
    twos = (
        chans.filter(pl.col("_half") == "2")
        .select("_prefix", pl.col(POS), pl.col(UID).alias("a"))
        .sort(POS)
    )
    return (
        twos.join_asof(ones, on=POS, by="_prefix", strategy="backward", check_sortedness=False)
        .filter(pl.col("b").is_not_null())
        .select("a", "b")
    )


def _root_map(prepared: pl.LazyFrame, cols: list[str]) -> pl.DataFrame:
    """``id -> root`` for every channel id, from the union-find over the links."""
    firsts = prepared.select(pl.col(IDS).list.first().alias("a"), pl.col(IDS).alias("b"))
    event_links = (
        firsts.filter(pl.col("b").list.len() > 1).explode("b").filter(pl.col("a") != pl.col("b"))
    )
    singles = firsts.filter(pl.col("a").is_not_null()).select("a", pl.col("a").alias("b"))
    links = (
        pl.concat([singles, event_links, _local_pair_links(prepared, cols)])
        .unique(maintain_order=True)
        .collect()
    )
    uf = UnionFind()
    # ``order`` follows first appearance, so the oldest id of a call stays its root.
    for a, b in zip(links["a"].to_list(), links["b"].to_list(), strict=True):
        uf.add(a)
        uf.add(b)
        if a != b:
            uf.union(a, b)
    ids = list(uf.parent)
    return pl.DataFrame(
        {"_id": ids, "_root": [uf.find(i) for i in ids]},
        schema={"_id": pl.String, "_root": pl.String},
    )


def _with_roots(prepared: pl.LazyFrame, cols: list[str]) -> pl.LazyFrame:
    roots = _root_map(prepared, cols).lazy()
    lf = (
        prepared.with_columns(pl.col(IDS).list.first().alias("_id"))
        .join(roots, on="_id", how="left")
        .drop("_id")
    )
    if "BridgeUniqueid" in cols:
        bridge_roots = (
            lf.filter(pl.col("_root").is_not_null() & pl.col("BridgeUniqueid").is_not_null())
            .group_by("BridgeUniqueid")
            .agg(pl.col("_root").sort_by(POS).first().alias("_broot"))
        )
        lf = (
            lf.join(bridge_roots, on="BridgeUniqueid", how="left")
            .with_columns(pl.coalesce("_root", "_broot").alias("_root"))
            .drop("_broot")
        )
    first_id = pl.col(IDS).list.first().sort_by(POS).drop_nulls().first()
    if "Linkedid" in cols:
        first_id = pl.coalesce(pl.col("Linkedid").sort_by(POS).drop_nulls().first(), first_id)
    call_ids = lf.filter(pl.col("_root").is_not_null()).group_by("_root").agg(first_id.alias(CALL))
    return lf.join(call_ids, on="_root", how="left").drop("_root").sort(POS)


def with_call_id(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Add a ``call_id`` column: which call each event belongs to.

    Events are linked by every Uniqueid/Linkedid they mention (any role prefix, AMI 1.x
    names included), Local ``;1``/``;2`` pairs, and bridge ids for bridge-only events;
    the call id is the call's first Linkedid (see :mod:`amikit.analysis._rules`). Events
    that belong to no call (``FullyBooted``, responses, ``DeviceStateChange`` ...) get null.

    Parameters
    ----------
    frame
        Events as ``amikit.load``/``amikit.scan`` return them.

    Returns
    -------
    DataFrame or LazyFrame
        The input's columns (same order) plus ``call_id``; the same kind as the input.
    """
    lf = lazy(frame)
    cols = columns_of(lf)
    prepared = prepare(lf)
    out = _with_roots(prepared, columns_of(prepared)).select(*cols, CALL)
    return like(out, frame)


def _channel_facts(events: pl.LazyFrame, cols: set[str]) -> pl.LazyFrame:
    def c(name: str) -> pl.Expr:
        return pl.col(name) if name in cols else pl.lit(None, dtype=pl.String)

    up = (c("ChannelState") == "6") | (c("ChannelStateDesc") == "Up")
    hang = pl.col(EV) == "Hangup"
    dial_end = pl.col(EV) == "DialEnd"
    dial = pl.struct(
        pl.col(POS).cast(pl.Int64).alias("pos"),
        c("DialStatus").alias("status"),
        c("DestChannel").alias("dest"),
        pl.col(TIME).alias("time"),
    )
    own = (
        events.filter(pl.col(UID).is_not_null())
        .group_by(CALL, UID)
        .agg(
            c("Channel").drop_nulls().first().alias("channel"),
            pl.col(POS).min().alias("first_pos"),
            pl.col(TIME).first().alias("first_time"),
            c("Linkedid").drop_nulls().first().alias("linkedid"),
            pl.col(TIME).filter(up).min().alias("up_time"),
            pl.col(POS).filter(hang).first().alias("hangup_pos"),
            pl.col(TIME).filter(hang).first().alias("hangup_time"),
            c("Cause").filter(hang).first().alias("cause"),
            c("Cause-txt").filter(hang).first().alias("cause_txt"),
            pl.col(POS).filter(pl.col(EV) == "HangupRequest").first().alias("request_pos"),
            c("CallerIDNum")
            .filter(c("CallerIDNum").is_in(["", "<unknown>", "<Unknown>"]).not_())
            .first()
            .alias("caller_num"),
            c("CallerIDName")
            .filter(c("CallerIDName").is_in(["", "<unknown>", "<Unknown>"]).not_())
            .first()
            .alias("caller_name"),
            c("Exten").filter(c("Exten").is_in(["", "s", "h"]).not_()).first().alias("exten"),
            dial.filter(dial_end).alias("dials"),
        )
    )
    if "DestUniqueid" in cols:
        # An Originate dials without a calling channel: the DialEnd is the dialled
        # channel's own outcome (ami-protocol.md §2.3, sample 19).
        originated = (
            events.filter(dial_end & pl.col(UID).is_null() & pl.col("DestUniqueid").is_not_null())
            .group_by(CALL, pl.col("DestUniqueid").alias(UID))
            .agg(dial.alias("odials"))
        )
        own = (
            own.join(originated, on=[CALL, UID], how="left")
            .with_columns(pl.concat_list("dials", pl.col("odials").fill_null([])).alias("dials"))
            .drop("odials")
        )
    return own.rename({UID: "uniqueid"})


def _call_facts(events: pl.LazyFrame, cols: set[str]) -> pl.LazyFrame:
    def c(name: str) -> pl.Expr:
        return pl.col(name) if name in cols else pl.lit(None, dtype=pl.String)

    return events.group_by(CALL).agg(
        pl.len().alias("n_events"),
        pl.col(POS).min().alias("_first_pos"),
        pl.col(TIME).drop_nulls().first().alias("first_time"),
        pl.col(TIME).max().alias("last_time"),
        c("Linkedid").drop_nulls().unique(maintain_order=True).alias("linkedids"),
        pl.col(EV).is_in(["BlindTransfer", "AttendedTransfer"]).sum().alias("transfers"),
        c("Queue").drop_nulls().first().alias("queue"),
        pl.col(TIME).filter(pl.col(EV) == "QueueCallerJoin").first().alias("queue_join"),
        pl.col(TIME).filter(pl.col(EV) == "AgentConnect").first().alias("queue_connect"),
        pl.col(TIME)
        .filter(pl.col(EV).is_in(["QueueCallerLeave", "QueueCallerAbandon"]))
        .first()
        .alias("queue_leave"),
    )


def calls_schema() -> dict[str, pl.DataType]:
    utc = pl.Datetime("us", "UTC")
    s = pl.String()
    f = pl.Float64()
    types: dict[str, Any] = {
        "call_id": s,
        "linkedids": pl.List(pl.String()),
        "start": utc,
        "answer": utc,
        "end": utc,
        "duration": f,
        "billsec": f,
        "ring_time": f,
        "caller_num": s,
        "caller_name": s,
        "dialed": s,
        "answered_by": s,
        "answered": pl.Boolean(),
        "disposition": s,
        "hangup_cause": s,
        "hangup_cause_txt": s,
        "hangup_by": s,
        "first_channel": s,
        "channels": pl.List(pl.String()),
        "n_channels": pl.Int64(),
        "transfers": pl.Int64(),
        "queue": s,
        "queue_wait": f,
        "n_events": pl.Int64(),
    }
    assert list(types) == list(CALL_COLUMNS)
    return types


def summaries_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A :func:`calls` frame from summary dicts, ordered by start (then call id)."""
    schema = calls_schema()
    frame = pl.DataFrame(
        {name: [r[name] for r in rows] for name in schema}, schema=schema, strict=False
    )
    return frame


def calls(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """One row per call, with CDR-like columns.

    Parameters
    ----------
    frame
        Events as ``amikit.load``/``amikit.scan`` return them (with or without a
        ``call_id`` column; it is recomputed).

    Returns
    -------
    DataFrame or LazyFrame
        One row per call in order of first event; the same kind as the input. Columns:
        call_id, linkedids, start, answer, end, duration, billsec, ring_time, caller_num,
        caller_name, dialed, answered_by, answered, disposition (ANSWERED, NO ANSWER,
        BUSY, FAILED as Asterisk's CDR uses them), hangup_cause, hangup_cause_txt,
        hangup_by, first_channel, channels, n_channels, transfers, queue, queue_wait,
        n_events. Times come from the server ``Timestamp`` when present, else arrival time.

    Examples
    --------
    >>> import amikit
    >>> amikit.calls(amikit.load("capture.raw"))  # doctest: +SKIP
    """
    lf = lazy(frame)
    cols = [c for c in columns_of(lf) if c != CALL]
    lf = lf.select(cols)
    prepared = prepare(lf)
    pcols = columns_of(prepared)
    events = _with_roots(prepared, pcols).filter(pl.col(CALL).is_not_null())
    colset = set(pcols)
    chan_df, call_df = pl.collect_all(
        [_channel_facts(events, colset), _call_facts(events, colset).sort("_first_pos")]
    )
    by_call: dict[str, list[ChannelFacts]] = {}
    for row in chan_df.iter_rows(named=True):
        dials = [(d["pos"], d["status"] or "", d["dest"], d["time"]) for d in row["dials"] or []]
        facts = ChannelFacts(
            uniqueid=row["uniqueid"],
            channel=row["channel"],
            first_pos=row["first_pos"],
            first_time=row["first_time"],
            linkedid=row["linkedid"],
            up_time=row["up_time"],
            hangup_pos=row["hangup_pos"],
            hangup_time=row["hangup_time"],
            cause=row["cause"],
            cause_txt=row["cause_txt"],
            request_pos=row["request_pos"],
            caller_num=row["caller_num"],
            caller_name=row["caller_name"],
            exten=row["exten"],
            dials=dials,
        )
        by_call.setdefault(row[CALL], []).append(facts)
    rows = []
    for row in call_df.iter_rows(named=True):
        call = CallFacts(
            call_id=row[CALL],
            n_events=row["n_events"],
            first_time=row["first_time"],
            last_time=row["last_time"],
            linkedids=row["linkedids"] or [],
            transfers=row["transfers"],
            queue=row["queue"],
            queue_join=row["queue_join"],
            queue_connect=row["queue_connect"],
            queue_leave=row["queue_leave"],
        )
        rows.append(summarize_call(call, by_call.get(row[CALL], [])))
    out = summaries_frame(rows)
    return out if isinstance(frame, pl.DataFrame) else out.lazy()
