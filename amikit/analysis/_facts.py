"""Reducing a slice of events to the facts the call model needs (issue 12).

A slice (a chunk of rows, a part file, a (server, day) partition) is reduced on its own
to a few small tables whose size follows the channels and calls seen in it, not its
events. Every row carries global arrival positions (``pos``), so the tables of any set
of slices merge exactly into the tables of one pass (:mod:`._stitch` does that):

``links``   ``(a, b)``: two ids of one event (Rule 1 of :mod:`._rules`); ``a`` is the
            event's first id, as the live tracker takes it.
``groups``  call-level facts per ``(a, okey, bridge)``: ``a`` the first id; ``okey`` the
            position of an event whose id is only known by its channel name (Rule 5,
            AMI 1.x; resolved when stitching); ``bridge`` its ``BridgeUniqueid`` (Rule 3).
            Every "first" fact is kept with the position it was seen at.
``lids``    the ``Linkedid`` values per group key, with their first position.
``chans``   per-channel facts per Uniqueid (the :class:`._rules.ChannelFacts` fields).
``dials``   one row per ``DialEnd`` (the caller's, or an Originate's dialled channel).
``names``   Rule 5 only: where a channel name changed hands (name -> Uniqueid), and the
            events that need a name resolved.

The per-event work reuses :func:`._calls.prepare` and :func:`._calls._first_ids`, so a
slice means exactly what the whole frame meant.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import polars as pl

from ._calls import EV, UID, _first_ids, name_pairs, prepare
from ._frame import POS, TIME
from ._rules import LINK_KEYS, PLACEHOLDER_IDS

__all__ = ["Facts", "reduce_slice"]


@dataclass
class Facts:
    """The reduced tables of one or more slices (see the module docstring)."""

    links: pl.DataFrame
    groups: pl.DataFrame
    lids: pl.DataFrame
    chans: pl.DataFrame
    dials: pl.DataFrame
    names: pl.DataFrame
    queries: pl.DataFrame
    events: int = 0

    @staticmethod
    def concat(parts: list[Facts]) -> Facts:
        tables = {
            f.name: pl.concat([getattr(p, f.name) for p in parts], how="diagonal_relaxed")
            for f in fields(Facts)
            if f.name != "events"
        }
        return Facts(**tables, events=sum(p.events for p in parts))


def _c(cols: set[str], name: str) -> pl.Expr:
    return pl.col(name) if name in cols else pl.lit(None, dtype=pl.String)


def _first(value: pl.Expr, when: pl.Expr, name: str) -> list[pl.Expr]:
    """``name`` (the value at the first row where ``when``) and ``name_pos`` (that row)."""
    return [
        value.filter(when).first().alias(name),
        pl.col(POS).filter(when).first().alias(f"{name}_pos"),
    ]


def _group_facts(cols: set[str]) -> list[pl.Expr]:
    ev = pl.col(EV)
    return [
        pl.len().alias("n_events"),
        pl.col(POS).min().alias("first_pos"),
        *_first(pl.col(TIME), pl.col(TIME).is_not_null(), "first_time"),
        pl.col(TIME).max().alias("last_time"),
        ev.is_in(["BlindTransfer", "AttendedTransfer"]).sum().alias("transfers"),
        *_first(_c(cols, "Queue"), _c(cols, "Queue").is_not_null(), "queue"),
        *_first(pl.col(TIME), ev == "QueueCallerJoin", "queue_join"),
        *_first(pl.col(TIME), ev == "AgentConnect", "queue_connect"),
        *_first(pl.col(TIME), ev.is_in(["QueueCallerLeave", "QueueCallerAbandon"]), "queue_leave"),
    ]


def _good(cols: set[str], name: str, bad: list[str]) -> pl.Expr:
    return _c(cols, name).is_not_null() & ~_c(cols, name).is_in(bad)


def _channel_facts(cols: set[str]) -> list[pl.Expr]:
    up = (_c(cols, "ChannelState") == "6") | (_c(cols, "ChannelStateDesc") == "Up")
    hang = pl.col(EV) == "Hangup"
    callerid_bad = ["", "<unknown>", "<Unknown>"]
    local = _c(cols, "Channel").str.starts_with("Local/").fill_null(False)
    return [
        *_first(_c(cols, "Channel"), _c(cols, "Channel").is_not_null(), "channel"),
        pl.col(POS).min().alias("first_pos"),
        pl.col(TIME).first().alias("first_time"),
        *_first(_c(cols, "Linkedid"), _c(cols, "Linkedid").is_not_null(), "linkedid"),
        pl.col(TIME).filter(up).min().alias("up_time"),
        pl.col(POS).filter(hang).first().alias("hangup_pos"),
        pl.col(TIME).filter(hang).first().alias("hangup_time"),
        _c(cols, "Cause").filter(hang).first().alias("cause"),
        _c(cols, "Cause-txt").filter(hang).first().alias("cause_txt"),
        pl.col(POS).filter(pl.col(EV) == "HangupRequest").first().alias("request_pos"),
        *_first(_c(cols, "CallerIDNum"), _good(cols, "CallerIDNum", callerid_bad), "caller_num"),
        *_first(_c(cols, "CallerIDName"), _good(cols, "CallerIDName", callerid_bad), "caller_name"),
        *_first(_c(cols, "Exten"), _good(cols, "Exten", ["", "s", "h"]), "exten"),
        # Rule 2 reads each channel's first Local name and where it was seen
        *_first(_c(cols, "Channel"), local, "local"),
    ]


def reduce_slice(frame: pl.DataFrame | pl.LazyFrame, offset: int = 0) -> Facts:
    """The facts of one slice of events whose first row is at global position ``offset``."""
    prepared, extra_long = prepare(frame)
    n = prepared.height
    firsts, extra_ids = _first_ids(prepared, extra_long)  # (row numbers as positions)
    moved = pl.col(POS).cast(pl.Int64) + offset
    prepared = prepared.with_columns(moved)
    extra_long = extra_long.with_columns(moved)
    extra_ids = extra_ids.with_columns(moved)
    cols = set(prepared.columns)
    ev = prepared.with_columns(firsts.alias("a"))
    lf = ev.lazy()

    # Rule 5 (AMI 1.x): events whose id is known only by channel name, resolved later
    masq = extra_long.filter(pl.col("_key").is_in(["clone", "original"]))
    if "Channel" in cols:
        orphan = pl.col("a").is_null() & pl.col("Channel").is_not_null()
        queries = pl.concat(
            [
                lf.filter(orphan).select(
                    POS, pl.col("Channel").alias("_name"), pl.lit("self").alias("_role")
                ),
                masq.lazy().select(
                    POS, pl.col("value").alias("_name"), pl.col("_key").alias("_role")
                ),
            ]
        ).collect()
    else:
        queries = pl.DataFrame(schema={POS: pl.Int64, "_name": pl.String, "_role": pl.String})
    okey = (
        pl.when(pl.col(POS).is_in(queries.filter(pl.col("_role") != "clone")[POS].implode()))
        .then(pl.col(POS))
        .otherwise(None)
        .alias("okey")
    )
    bridge = _c(cols, "BridgeUniqueid").alias("bridge")
    keyed = lf.with_columns(okey, bridge).filter(
        pl.col("a").is_not_null() | pl.col("okey").is_not_null() | pl.col("bridge").is_not_null()
    )
    keys = ["a", "okey", "bridge"]
    groups = keyed.group_by(keys, maintain_order=True).agg(_group_facts(cols))
    lids = (
        keyed.filter(_c(cols, "Linkedid").is_not_null())
        .group_by([*keys, _c(cols, "Linkedid").alias("linkedid")], maintain_order=True)
        .agg(pl.col(POS).min().alias("pos"))
    )
    chans = (
        lf.filter(pl.col(UID).is_not_null())
        .group_by(pl.col(UID).alias("uniqueid"), maintain_order=True)
        .agg(_channel_facts(cols))
    )
    dial_end = pl.col(EV) == "DialEnd"
    dial = [POS, _c(cols, "DialStatus").alias("status"), _c(cols, "DestChannel").alias("dest")]
    dial.append(pl.col(TIME).alias("time"))
    dial_parts = [lf.filter(dial_end & pl.col(UID).is_not_null()).select(UID, *dial)]
    if "DestUniqueid" in cols:
        # An Originate dials without a calling channel: the DialEnd is the dialled
        # channel's own outcome (ami-protocol.md §2.3, sample 19).
        originated = dial_end & pl.col(UID).is_null() & pl.col("DestUniqueid").is_not_null()
        dial_parts.append(lf.filter(originated).select(pl.col("DestUniqueid").alias(UID), *dial))
    dials = pl.concat(dial_parts).rename({UID: "uniqueid"})

    # links: (first id of an event, each other id of it), one id column at a time
    placeholders = list(PLACEHOLDER_IDS)
    id_cols = [c for c in prepared.columns if c.lower() in LINK_KEYS]
    parts = [
        lf.select("a", pl.col(c).alias("b"))
        .filter(pl.col("a").is_not_null() & pl.col("b").is_not_null())
        .filter((pl.col("a") != pl.col("b")) & ~pl.col("b").is_in(placeholders))
        .unique()
        for c in id_cols
    ]
    if extra_ids.height:
        parts.append(
            extra_ids.lazy()
            .join(lf.select(POS, "a"), on=POS)
            .select("a", pl.col("_id").alias("b"))
            .filter(pl.col("a").is_not_null() & (pl.col("a") != pl.col("b")))
        )
    links = pl.concat(parts) if parts else pl.LazyFrame(schema={"a": pl.String, "b": pl.String})

    names = pl.LazyFrame(schema={"_name": pl.String, POS: pl.Int64, "_nuid": pl.String})
    if "Channel" in cols and (queries.height or not masq.is_empty() or _legacy(extra_long)):
        names = _name_changes(lf, extra_long)
    links, groups, lids, chans, dials, names = pl.collect_all(
        [links.unique(), groups, lids, chans, dials, names]
    )
    return Facts(links, groups, lids, chans, dials, names, queries, events=n)


def _legacy(extra_long: pl.DataFrame) -> bool:
    return bool(extra_long.height) and bool(extra_long["_key"].is_in(["uniqueid", "newname"]).any())


def _name_changes(lf: pl.LazyFrame, extra_long: pl.DataFrame) -> pl.LazyFrame:
    """Where each channel name passed to another Uniqueid (Rule 5), in arrival order.

    Only the rows where the Uniqueid behind a name changes are kept: an as-of lookup of
    "the last earlier event that paired this name with a Uniqueid" finds the same id.
    """
    pairs = name_pairs(lf.filter(pl.col(UID).is_not_null()), extra_long).sort(POS)
    changed = pl.col("_nuid").ne_missing(pl.col("_nuid").shift(1).over("_name"))
    return pairs.filter(changed)
