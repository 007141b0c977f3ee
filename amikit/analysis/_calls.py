"""Grouping events into calls (``with_call_id``) and one summary row per call (``calls``).

Strategy: everything per event is a polars expression; only the links between ids (a
few per channel, far fewer than events) and the per-call summary go through Python.

1. ``prepare`` reads only the columns the call model needs (ids, facts, time, ``extra``),
   in one chunk each; numbers the rows (``_pos``); picks the event time (``_time``);
   normalises AMI 1.x ``Dial`` into ``DialBegin``/``DialEnd`` (``_ev``); takes the event's
   own channel id (``_uid``). ``extra`` is exploded once, keeping only the entries the
   model reads (legacy ``UniqueID``, ``SwapUniqueid``, ``SubEvent`` ...).
2. Each event's first id (layout order: wide columns, then ``extra``) is paired with every
   other id it mentions (Rule 1 of :mod:`._rules`), one id column at a time, plus the
   Local ``;1``/``;2`` pairs (Rule 2, an as-of join); a Python union-find merges them.
3. The call id of each set is decided on the distinct ids (Rule 4) and mapped back to the
   events through their first id; events with no id but a bridge id get the call of the
   first channel seen in that bridge (Rule 3).
4. ``calls`` aggregates per channel and per call in polars, then hands the facts of each
   call to :func:`._rules.summarize_call` - the same function the live ``CallTracker``
   uses - so batch and live cannot disagree on what a disposition is. Times travel as
   epoch microseconds and list columns stay in polars, because converting Python
   datetimes and lists is the slow part of that hand-over.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ._frame import POS, TIME, FrameT, columns_of, lazy, require, time_expr
from ._rules import (
    CALL_COLUMNS,
    EPOCH_KEYS,
    LINK_KEYS,
    PLACEHOLDER_IDS,
    CallFacts,
    ChannelFacts,
    EpochRule,
    UnionFind,
    summarize_call,
)

__all__ = ["calls", "prepare", "summaries", "with_call_id", "with_epoch", "with_roots"]

EV = "_ev"
UID = "_uid"
CALL = "call_id"
SCOPE = "_scope"
#: The boundaries grouping never crosses (Rule 8), as columns of events and calls.
BOUNDARIES = ("server", "session", "epoch")


# the columns the channel and call facts read (the rest need not be copied)
_FACT_COLUMNS = frozenset(
    {
        POS,
        TIME,
        EV,
        UID,
        "Channel",
        "Linkedid",
        "ChannelState",
        "ChannelStateDesc",
        "Cause",
        "Cause-txt",
        "CallerIDNum",
        "CallerIDName",
        "Exten",
        "DialStatus",
        "DestChannel",
        "DestUniqueid",
        "Queue",
    }
)


# AMI 1.x name fields (Rule 5): read by name, never taken as ids themselves.
_NAME_KEYS = ("newname", "clone", "original")
_EXTRA_WANTED = sorted(LINK_KEYS | {"subevent", *_NAME_KEYS, *EPOCH_KEYS})


def model_columns(columns: list[str]) -> list[str]:
    """The input columns the call model reads (ids, facts, bridge, time, extra).

    Only these are copied (and re-chunked); a recording's other wide columns are not.
    """
    wanted = _FACT_COLUMNS | {
        "event",
        "timestamp",
        "received_at",
        "extra",
        "BridgeUniqueid",
        "server",
        "session",
        "connection",
        "kind",
    }
    return [c for c in columns if c in wanted or c.lower() in LINK_KEYS]


def _extra_long(lf: pl.LazyFrame) -> pl.LazyFrame:
    """``(_pos, _key, value, _idx)`` for the ``extra`` entries the call model reads.

    One explode of ``extra`` (fast, columnar) instead of a per-row list evaluation.
    """
    return (
        lf.select(POS, "extra")
        .explode("extra")
        .filter(pl.col("extra").is_not_null())
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_idx"))
        .unnest("extra")
        .with_columns(pl.col("key").str.to_lowercase().alias("_key"))
        .filter(pl.col("_key").is_in(_EXTRA_WANTED))
        # after every wide column (whose order numbers are small)
        .select(POS, "_key", "value", (pl.col("_idx") + 1_000_000).alias("_idx"))
        # _pos comes first: the explode keeps arrival order
    )


def prepare(frame: pl.DataFrame | pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The events with helper columns ``_pos``, ``_time``, ``_ev`` and ``_uid``.

    ``_ev`` is the event name with AMI 1.x ``Dial`` normalised; ``_uid`` the event's own
    channel (``Uniqueid``, or legacy ``UniqueID``). Collected once, because the union-find
    and the aggregations all read it. Also returns the few ``extra`` entries the call
    model reads (``(_pos, _key, value, _idx)``), so ``extra`` is exploded only once.
    """
    lf = lazy(frame)
    require(lf, ["event"])
    cols = model_columns([c for c in columns_of(lf) if c not in (POS, CALL)])
    have = set(cols)
    # One contiguous chunk per column (a frame concatenated from many parts would be
    # re-chunked again by every step below), without the bulky `extra` lists and the
    # id columns that are empty throughout.
    plain = [c for c in cols if c != "extra"]
    df = lf.select(plain).collect()
    n = df.height
    empty = {c for c in plain if c.lower() in LINK_KEYS and df[c].null_count() == n}
    df = df.select([c for c in plain if c not in empty]).rechunk().with_row_index(POS)
    have = set(df.columns) | ({"extra"} & have)
    uid = pl.col("Uniqueid") if "Uniqueid" in have else pl.lit(None, dtype=pl.String)
    ev = pl.col("event")
    extra_cols: list[pl.Series] = []
    extra_long = pl.DataFrame(
        schema={POS: pl.UInt32, "_key": pl.String, "value": pl.String, "_idx": pl.Int64}
    )
    if "extra" in have:
        extra_long = _extra_long(lf.select("extra").with_row_index(POS)).collect()
        legacy = (
            extra_long.lazy()
            .filter(pl.col("_key").is_in(["uniqueid", "subevent"]))
            .group_by(POS)
            .agg(
                pl.col("value").filter(pl.col("_key") == "uniqueid").first().alias("_xuid"),
                pl.col("value").filter(pl.col("_key") == "subevent").first().alias("_xsub"),
            )
            .collect()
        )
        if legacy.height:
            # few rows (AMI 1.x): scatter into full-length columns, no join of the frame
            for name in ("_xuid", "_xsub"):
                column = pl.repeat(None, n, dtype=pl.String, eager=True).alias(name)
                column = column.scatter(legacy[POS], legacy[name])
                extra_cols.append(column)
            uid = pl.coalesce(uid, pl.col("_xuid"))
            ev = (
                pl.when((pl.col("event") == "Dial") & pl.col("_xsub").is_not_null())
                .then(pl.lit("Dial") + pl.col("_xsub").str.to_titlecase())
                .otherwise(pl.col("event"))
            )
    uid = pl.when(uid.is_in(list(PLACEHOLDER_IDS))).then(None).otherwise(uid)
    out = df.with_columns(*extra_cols).with_columns(
        time_expr(df.columns), ev.alias(EV), uid.alias(UID)
    )
    return out.drop([s.name for s in extra_cols]), extra_long


def _clean(name: str) -> pl.Expr:
    return pl.when(pl.col(name).is_in(list(PLACEHOLDER_IDS))).then(None).otherwise(pl.col(name))


def _id_columns(prepared: pl.DataFrame) -> list[str]:
    """The wide id columns that hold any value (most role columns are empty)."""
    height = prepared.height
    return [
        c for c in prepared.columns if c.lower() in LINK_KEYS and prepared[c].null_count() < height
    ]


def _first_ids(prepared: pl.DataFrame, extra_long: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """``(firsts, extra_ids)``: each event's first channel id, and the ``extra`` ids.

    The first id is taken in layout order (wide columns, then ``extra``), as the live
    tracker does. ``firsts`` is row-aligned with ``prepared``.
    """
    wide = _id_columns(prepared)
    placeholders = list(PLACEHOLDER_IDS)
    if wide:
        # most events name their own channel: only rows without one look further
        firsts = prepared[wide[0]].alias("a")
        if len(wide) > 1 and firsts.null_count():
            unnamed = prepared.lazy().filter(pl.col(wide[0]).is_null())
            rest = unnamed.select(POS, pl.coalesce(wide[1:]).alias("_r")).collect()
            firsts = firsts.scatter(rest[POS], rest["_r"])
    else:
        firsts = pl.Series("a", [None] * prepared.height, dtype=pl.String)
    bad = firsts.is_in(placeholders) | firsts.is_null()
    extra_ids = extra_long.filter(
        pl.col("_key").is_in(list(LINK_KEYS)) & ~pl.col("value").is_in(placeholders)
    ).select(POS, pl.col("value").alias("_id"), "_idx")
    if bad.any():
        # rare: no usable wide id ("<unknown>", "none", or only legacy ids in `extra`);
        # look further along those rows only
        rows = prepared.lazy().filter(bad)
        fixed = (
            rows.select(POS, pl.coalesce([_clean(c) for c in wide]).alias("_w"))
            if wide
            else (rows.select(POS, pl.lit(None, dtype=pl.String).alias("_w")))
        )
        if extra_ids.height:
            extra_first = (
                extra_ids.lazy()
                .group_by(POS)
                .agg(pl.col("_id").sort_by("_idx").first().alias("_x"))
            )
            fixed = fixed.join(extra_first, on=POS, how="left").with_columns(
                pl.coalesce("_w", "_x").alias("_w")
            )
        fix = fixed.collect()
        firsts = firsts.scatter(fix[POS], fix["_w"])
    return firsts, extra_ids


def _by_channel_name(
    prepared: pl.DataFrame, extra_long: pl.DataFrame, firsts: pl.Series, scope: list[str]
) -> tuple[pl.Series, pl.DataFrame]:
    """Rule 5 (AMI 1.x): ids found through channel names; returns ``(firsts, links)``.

    Asterisk <= 11 sends some events with a channel name and no Uniqueid (``AGIExec``,
    ``SIPRinging``, RTCP, ``Masquerade``), and swaps Uniqueids between channels on a
    masquerade (``Rename`` gives a channel its new name). Such an event gets the id of the
    channel that bore its name at that moment (the last earlier event that paired the name
    with a Uniqueid, a ``Rename``'s ``Newname`` included), and a ``Masquerade`` links the
    ``Original`` and ``Clone`` channels. Asterisk 12+ streams have none of these: nothing
    is computed for them. Names are looked up within each scope (``scope``: the columns
    that keep runs of a PBX apart, Rule 8); ``links`` carries those columns too.
    """
    none = pl.DataFrame(schema={"a": pl.String, "b": pl.String, **{k: pl.Int32 for k in scope}})
    if "Channel" not in prepared.columns:
        return firsts, none
    orphan = firsts.is_null() & prepared["Channel"].is_not_null()
    masq = extra_long.filter(pl.col("_key").is_in(["clone", "original"]))
    if not orphan.any() and not masq.height:
        return firsts, none
    owned = prepared.lazy().filter(pl.col(UID).is_not_null())
    where = prepared.lazy().select(POS, *scope)
    names = pl.concat(
        [
            owned.filter(pl.col("Channel").is_not_null()).select(
                pl.col("Channel").alias("_name"), POS, pl.col(UID).alias("_nuid"), *scope
            ),
            extra_long.lazy()
            .filter(pl.col("_key") == "newname")
            .join(owned.select(POS, UID, *scope), on=POS)
            .select(pl.col("value").alias("_name"), POS, pl.col(UID).alias("_nuid"), *scope),
        ]
    ).sort(POS)
    wanted = pl.concat(
        [
            prepared.lazy()
            .filter(orphan)
            .select(POS, pl.col("Channel").alias("_name"), pl.lit("self").alias("_role"), *scope),
            masq.lazy()
            .join(where, on=POS)
            .select(POS, pl.col("value").alias("_name"), pl.col("_key").alias("_role"), *scope),
        ]
    ).sort(POS)
    found = (
        wanted.join_asof(
            names,
            on=POS,
            by=["_name", *scope],
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .filter(pl.col("_nuid").is_not_null())
        .collect()
    )
    mine = found.filter(pl.col("_role") != "clone")  # own channel, or a masquerade's original
    firsts = firsts.scatter(mine[POS], mine["_nuid"])
    pairs = found.filter(pl.col("_role") != "self").pivot(
        "_role", index=[POS, *scope], values="_nuid", aggregate_function="first"
    )
    if {"original", "clone"} <= set(pairs.columns):
        links = pairs.select(
            pl.col("original").alias("a"), pl.col("clone").alias("b"), *scope
        ).drop_nulls()
    else:
        links = none
    return firsts, links


def _local_pair_links(prepared: pl.LazyFrame, cols: list[str], scope: list[str]) -> pl.LazyFrame:
    """Links ``;2`` -> most recent earlier ``;1`` of the same Local name (Rule 2).

    Within each scope (``scope``, as in :func:`_by_channel_name`), whose columns it keeps.
    """
    if "Channel" not in cols:
        return pl.LazyFrame(schema={"a": pl.String, "b": pl.String, **{k: pl.Int32 for k in scope}})
    chans = (
        prepared.filter(pl.col(UID).is_not_null() & pl.col("Channel").str.starts_with("Local/"))
        .group_by(*scope, UID)
        .agg(pl.col("Channel").first(), pl.col(POS).min())
        .with_columns(
            pl.col("Channel").str.extract(r"^(Local/.+);[12]$", 1).alias("_prefix"),
            pl.col("Channel").str.extract(r";([12])$", 1).alias("_half"),
        )
        .filter(pl.col("_prefix").is_not_null())
    )
    ones = (
        chans.filter(pl.col("_half") == "1")
        .select("_prefix", *scope, pl.col(POS), pl.col(UID).alias("b"))
        .sort(POS)
    )
    twos = (
        chans.filter(pl.col("_half") == "2")
        .select("_prefix", *scope, pl.col(POS), pl.col(UID).alias("a"))
        .sort(POS)
    )
    return (
        twos.join_asof(
            ones, on=POS, by=["_prefix", *scope], strategy="backward", check_sortedness=False
        )
        .filter(pl.col("b").is_not_null())
        .select("a", "b", *scope)
    )


# Joins a scope number to an id (never part of an AMI id) so that one union-find keeps
# the scopes apart.
_SCOPE_SEP = "\x1f"


def with_roots(prepared: pl.DataFrame, extra_long: pl.DataFrame) -> pl.LazyFrame:
    """The prepared events with ``call_id`` (null for events of no call), lazily.

    With a ``_scope`` column of several values (:func:`with_scope`), no id links across
    scopes: in one pass over all of them, each id is taken together with its scope
    (``"<scope>\\x1f<id>"``) wherever ids meet, and names and bridges are looked up per
    scope.
    """
    cols = prepared.columns
    lf = prepared.lazy()
    several = SCOPE in cols and prepared[SCOPE].n_unique() > 1
    scope = [SCOPE] if several else []

    def q(name: str) -> pl.Expr:
        """An id column, taken with its scope when there are several."""
        if not several:
            return pl.col(name)
        return pl.concat_str(pl.col(SCOPE).cast(pl.String), pl.lit(_SCOPE_SEP), pl.col(name))

    first_series, extra_ids = _first_ids(prepared, extra_long)
    first_series, name_links = _by_channel_name(prepared, extra_long, first_series, scope)
    firsts = prepared.select(POS, *scope).with_columns(first_series.alias("a"))
    # links: (first id of an event, each other id of it), one column at a time so the
    # mostly-null wide id columns are never materialised as one long frame
    id_cols = _id_columns(prepared)
    # firsts is row-aligned with prepared (same _pos order): no join needed
    with_first = lf.select(POS, *scope, *id_cols).with_columns(firsts["a"])
    parts = [
        with_first.select("a", pl.col(c).alias("b"), *scope)
        .filter(pl.col("b").is_not_null())
        .filter((pl.col("a") != pl.col("b")) & ~pl.col("b").is_in(list(PLACEHOLDER_IDS)))
        .unique()
        for c in id_cols
    ]
    if extra_ids.height:
        parts.append(
            extra_ids.lazy()
            .join(firsts.lazy(), on=POS)
            .select("a", pl.col("_id").alias("b"), *scope)
            .filter(pl.col("a") != pl.col("b"))
        )
    parts.append(_local_pair_links(lf, cols, scope))
    if name_links.height:
        parts.append(name_links.lazy())
    links = pl.concat(parts).select(q("a").alias("a"), q("b").alias("b")).unique().collect()
    uf = UnionFind()
    for a, b in zip(links["a"].to_list(), links["b"].to_list(), strict=True):
        uf.union(a, b)
    members = list(uf.parent)
    roots = pl.DataFrame(
        {"_id": members, "_root": [uf.find(i) for i in members]},
        schema={"_id": pl.String, "_root": pl.String},
    ).lazy()

    def rooted(ids: pl.LazyFrame) -> pl.LazyFrame:
        # an id that never links to another is its own root
        return ids.join(roots, on="_id", how="left").with_columns(
            pl.coalesce("_root", "_id").alias("_root")
        )

    # Rule 4, on the small set of distinct ids: the call id is the first Linkedid seen in
    # the call, else the first id of its first event.
    firsts_lf = firsts.lazy().with_columns(q("a").alias("_qa"))
    candidates = [
        firsts_lf.select(pl.col("_qa").alias("_id"), POS, pl.lit(1).alias("_prio"))
        .drop_nulls("_id")
        .unique("_id", keep="first", maintain_order=True)
    ]
    if "Linkedid" in cols:
        candidates.append(
            lf.filter(
                pl.col("Linkedid").is_not_null() & ~pl.col("Linkedid").is_in(list(PLACEHOLDER_IDS))
            )
            .select(q("Linkedid").alias("_id"), POS, pl.lit(0).alias("_prio"))
            .unique("_id", keep="first", maintain_order=True)
        )
    call_id = pl.col("_id").first()
    if several:  # the call id is the id alone
        call_id = call_id.str.split_exact(_SCOPE_SEP, 1).struct.field("field_1")
    call_of_root = (
        rooted(pl.concat(candidates)).sort("_prio", POS).group_by("_root").agg(call_id.alias(CALL))
    )
    call_of_id = (
        rooted(firsts_lf.select(pl.col("_qa").alias("_id")).drop_nulls().unique())
        .join(call_of_root, on="_root", how="left")
        .select("_id", CALL)
    )
    row_calls = firsts_lf.join(
        call_of_id, left_on="_qa", right_on="_id", how="left", maintain_order="left"
    ).collect()
    out = prepared.with_columns(row_calls[CALL])
    if "BridgeUniqueid" in cols:
        # Rule 3: bridge-only events join the call of the first channel seen in the bridge
        bridged = pl.col("BridgeUniqueid").is_not_null()
        seen = (
            out.lazy()
            .select(POS, *scope, "BridgeUniqueid", CALL)
            .filter(pl.col(CALL).is_not_null() & bridged)
        )
        bridge_call = seen.unique(
            [*scope, "BridgeUniqueid"], keep="first", maintain_order=True
        ).select(*scope, "BridgeUniqueid", pl.col(CALL).alias("_bcall"))
        orphans = (
            out.lazy()
            .select(POS, *scope, "BridgeUniqueid", CALL)
            .filter(pl.col(CALL).is_null() & bridged)
            .select(POS, *scope, "BridgeUniqueid")
            .join(bridge_call, on=[*scope, "BridgeUniqueid"])
            .select(POS, "_bcall")
            .collect()
        )
        if orphans.height:
            out = out.with_columns(out[CALL].scatter(orphans[POS], orphans["_bcall"]))
    return out.lazy()


def _epochs(
    prepared: pl.DataFrame,
    extra_long: pl.DataFrame,
    rules: dict[Any, EpochRule] | None = None,
) -> pl.Series:
    """Each event's PBX epoch (Rule 8, :class:`._rules.EpochRule`), row-aligned.

    Only the few rows that can move the epoch go through Python: gap rows, the first row
    of each connection, ``FullyBooted``, ``Newchannel`` and rows with a startup time.
    ``rules`` carries the rule of each (server, session) from one slice of a recording to
    the next (:func:`._chunked.calls_in_slices`); it is updated in place.
    """
    n = prepared.height
    given = {"server": pl.String, "session": pl.String, "kind": pl.String, "connection": pl.Int32}
    have = set(prepared.columns)
    missing = [pl.lit(None, dtype=t).alias(k) for k, t in given.items() if k not in have]
    prepared = prepared.with_columns(missing) if missing else prepared
    scope = [pl.col("server"), pl.col("session")]
    facts = extra_long.filter(pl.col("_key").is_in(list(EPOCH_KEYS)))
    wanted = (
        facts.group_by(POS)
        .agg(
            pl.col("value").filter(pl.col("_key") == "uptime").first().alias("_uptime"),
            pl.format(
                "{} {}",
                pl.col("value").filter(pl.col("_key") == "corestartupdate").first(),
                pl.col("value").filter(pl.col("_key") == "corestartuptime").first(),
            ).alias("_startup"),
        )
        .lazy()
    )
    connection = pl.col("connection")
    marks = (
        prepared.lazy()
        .select(
            POS,
            pl.struct(scope).alias("_where"),
            pl.col("kind").alias("_kind"),
            pl.col(EV),
            connection.alias("_conn"),
            (pl.col(TIME).dt.epoch("us") / 1e6).alias("_t"),
            pl.col(UID),
            (connection != connection.shift(1).over(scope)).fill_null(True).alias("_new_conn"),
        )
        .join(wanted, on=POS, how="left")
        .filter(
            pl.col("_new_conn")
            | (pl.col("_kind") == "gap")
            | pl.col(EV).is_in(["FullyBooted", "Newchannel"])
            | pl.col("_startup").is_not_null()
        )
        .sort(POS)
        .collect()
    )
    epochs = pl.repeat(0, n, dtype=pl.Int32, eager=True).alias("epoch")
    carried = rules is not None
    restart_possible = carried or (
        marks["_new_conn"].sum() > 1
        or marks["_kind"].eq("gap").any()
        or marks["_startup"].n_unique() > 2
        or marks.filter(pl.col(EV) == "FullyBooted").height > 1
    )
    if not restart_possible:
        return epochs  # one connection, one startup: nothing can have restarted
    if rules is None:
        rules = {}
    at: list[int] = []
    values: list[int] = []
    where = marks["_where"].to_list()
    for i, (pos, kind, event, conn, t, uid, uptime, startup) in enumerate(
        marks.select(POS, "_kind", EV, "_conn", "_t", UID, "_uptime", "_startup").iter_rows()
    ):
        key = (where[i]["server"], where[i]["session"])
        rule = rules.get(key)
        if rule is None:
            rule = rules[key] = EpochRule()
        epoch = rule.feed(
            kind=kind,
            event=event,
            connection=conn,
            time=t,
            uniqueid=uid,
            uptime=uptime,
            startup=startup,
        )
        at.append(pos)
        values.append(epoch)
    # every row takes the epoch of the last mark at or before it, in its own scope
    marked = pl.DataFrame({POS: at, "epoch": values}, schema={POS: pl.UInt32, "epoch": pl.Int32})
    filled = (
        prepared.lazy()
        .select(POS, *[e.alias(f"_s{i}") for i, e in enumerate(scope)])
        .join(marked.lazy(), on=POS, how="left", maintain_order="left")
        .with_columns(pl.col("epoch").forward_fill().over("_s0", "_s1").fill_null(0))
        .collect()
    )
    return filled["epoch"]


def with_scope(
    prepared: pl.DataFrame, extra_long: pl.DataFrame, *, has_epoch: bool = False
) -> pl.DataFrame:
    """The prepared events with ``epoch``, ``_scope`` (Rule 8) and ``call_id``.

    Calls are grouped separately within each (server, session, epoch), so no channel of
    one ever links to a channel of another; ``_scope`` numbers these. All scopes are
    grouped in one pass (:func:`with_roots`).
    ``has_epoch``: ``prepared`` already holds the right ``epoch`` column (worked out
    slice by slice), which is kept.
    """
    cols = set(prepared.columns)
    if not has_epoch:
        prepared = prepared.with_columns(_epochs(prepared, extra_long))
    keys = [
        (pl.col(k) if k in cols or k == "epoch" else pl.lit(None, dtype=pl.String)).alias(f"_k{i}")
        for i, k in enumerate(BOUNDARIES)
    ]
    scoped = prepared.with_columns(pl.struct(keys).rank("dense").cast(pl.Int32).alias(SCOPE))
    # one pass over every scope: with_roots keeps them apart (measured 2x faster than a
    # pass per scope on a slice of 22 servers)
    return with_roots(scoped, extra_long).collect()


def with_epoch(frame: FrameT) -> FrameT:
    """Add an ``epoch`` column: which run of the PBX each event belongs to (Rule 8).

    0 for the events before the first restart seen on the wire, then +1 per restart,
    counted separately per ``server`` and ``session``. A reconnect without a restart
    keeps the epoch.
    """
    lf = lazy(frame)
    cols = [c for c in columns_of(lf) if c != "epoch"]
    prepared, extra_long = prepare(lf)
    epochs = _epochs(prepared, extra_long)
    if isinstance(frame, pl.DataFrame):
        return frame.select(cols).with_columns(epochs)
    return lf.select(cols).with_columns(pl.lit(epochs))


def with_call_id(frame: FrameT) -> FrameT:
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
    cols = [c for c in columns_of(lf) if c != CALL]
    ids = with_scope(*prepare(lf))[CALL]
    if isinstance(frame, pl.DataFrame):
        return frame.select(cols).with_columns(ids)
    return lf.select(cols).with_columns(pl.lit(ids))


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
        # a Uniqueid belongs to exactly one call (of its scope)
        .group_by(SCOPE, UID)
        .agg(
            pl.col(CALL).first(),
            (pl.col(EV) == "Newchannel").any().alias("created_seen"),
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
        # channel's own outcome (docs/protocol.md §3.2, sample 19).
        originated = (
            events.filter(dial_end & pl.col(UID).is_null() & pl.col("DestUniqueid").is_not_null())
            .group_by(SCOPE, CALL, pl.col("DestUniqueid").alias(UID))
            .agg(dial.alias("odials"))
        )
        own = (
            own.join(originated, on=[SCOPE, CALL, UID], how="left")
            .with_columns(pl.concat_list("dials", pl.col("odials").fill_null([])).alias("dials"))
            .drop("odials")
        )
    return own.rename({UID: "uniqueid"})


def _call_facts(events: pl.LazyFrame, cols: set[str]) -> pl.LazyFrame:
    def c(name: str) -> pl.Expr:
        return pl.col(name) if name in cols else pl.lit(None, dtype=pl.String)

    return events.group_by(SCOPE, CALL).agg(
        *[pl.col(k).first() for k in BOUNDARIES if k in cols],
        pl.len().alias("n_events"),
        pl.col(POS).min().alias("_first_pos"),
        pl.col(POS).max().alias("_last_pos"),
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
        "in_progress": pl.Boolean(),
        "joined_late": pl.Boolean(),
        "server": s,
        "session": s,
        "epoch": pl.Int32(),
    }
    assert list(types) == list(CALL_COLUMNS)
    return types


_TIME_COLUMNS = ("start", "answer", "end")


def summaries_frame(
    rows: list[dict[str, Any]], given: dict[str, pl.Series] | None = None
) -> pl.DataFrame:
    """A :func:`calls` frame from summary dicts (times as datetimes or epoch µs).

    ``given`` supplies whole columns already built in polars (row-aligned with ``rows``).
    """
    schema = calls_schema()
    columns: dict[str, pl.Series] = {}
    for name, dtype in schema.items():
        if given and name in given:
            columns[name] = given[name].alias(name).cast(dtype)
            continue
        values = [r[name] for r in rows]
        if name in _TIME_COLUMNS and any(isinstance(v, int) for v in values):
            columns[name] = pl.Series(name, values, dtype=pl.Int64).cast(dtype)
        else:
            columns[name] = pl.Series(name, values, dtype=dtype)
    return pl.DataFrame(columns, schema=schema)


def calls(frame: FrameT, *, workers: int = 1) -> FrameT:
    """One row per call, with CDR-like columns.

    Parameters
    ----------
    frame
        Events as ``amikit.load``/``amikit.scan`` return them (with or without a
        ``call_id`` column; it is recomputed). A LazyFrame, or a frame of more than
        150,000 events, is grouped a slice at a time (:mod:`._chunked`), so memory stays
        bounded however long the recording.
    workers
        Group in up to ``workers`` processes, each a piece of the recording in time (of
        at least 300,000 events), stitched where calls run on from one piece into the
        next. The result is the same as with one worker.

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
    from ._chunked import SLICE_ROWS, calls_in_pieces, calls_in_slices

    if workers > 1:
        out = calls_in_pieces(frame, workers=workers)
        return out.lazy() if isinstance(frame, pl.LazyFrame) else out
    if isinstance(frame, pl.LazyFrame):
        # a recording on disk may be larger than memory: read it a slice at a time
        return calls_in_slices(frame).lazy()
    if isinstance(frame, pl.DataFrame) and frame.height > SLICE_ROWS:
        # in memory already, but the grouping's own working set grows with the events
        return calls_in_slices(frame)
    prepared, extra_long = prepare(frame)
    out, _ = summaries(with_scope(prepared, extra_long))
    return out


def summaries(scoped: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(calls, keys)``: one summary row per call of :func:`with_scope`'s output.

    ``keys`` is row-aligned with ``calls``: each call's ``_scope``, ``call_id``, first
    and last ``_pos``, ``last_time``, and ``_all_hung`` (every channel of it has hung up), which
    tell :func:`._chunked.calls_in_slices` whether a call can still grow.
    """
    colset = set(scoped.columns)
    needed = [c for c in scoped.columns if c in _FACT_COLUMNS or c in BOUNDARIES]
    events = scoped.lazy().select(*needed, SCOPE, CALL).filter(pl.col(CALL).is_not_null())
    chan_df, call_df = pl.collect_all(
        [_channel_facts(events, colset), _call_facts(events, colset).sort("_first_pos")]
    )
    by_call: dict[tuple[int, str], list[ChannelFacts]] = {}
    # column lists and zip: much faster than iter_rows(named=True)
    chan = {name: chan_df[name].to_list() for name in chan_df.columns}
    for i, uniqueid in enumerate(chan["uniqueid"]):
        dials = [
            (d["pos"], d["status"] or "", d["dest"], d["time"]) for d in chan["dials"][i] or []
        ]
        facts = ChannelFacts(
            uniqueid=uniqueid,
            channel=chan["channel"][i],
            first_pos=chan["first_pos"][i],
            first_time=chan["first_time"][i],
            linkedid=chan["linkedid"][i],
            up_time=chan["up_time"][i],
            hangup_pos=chan["hangup_pos"][i],
            hangup_time=chan["hangup_time"][i],
            cause=chan["cause"][i],
            cause_txt=chan["cause_txt"][i],
            request_pos=chan["request_pos"][i],
            created_seen=chan["created_seen"][i],
            caller_num=chan["caller_num"][i],
            caller_name=chan["caller_name"][i],
            exten=chan["exten"][i],
            dials=dials,
        )
        by_call.setdefault((chan[SCOPE][i], chan[CALL][i]), []).append(facts)
    rows = []
    call_cols = {name: call_df[name].to_list() for name in call_df.columns}
    none = [None] * call_df.height
    for i, call_id in enumerate(call_cols[CALL]):
        call = CallFacts(
            call_id=call_id,
            n_events=call_cols["n_events"][i],
            first_time=call_cols["first_time"][i],
            last_time=call_cols["last_time"][i],
            linkedids=call_cols["linkedids"][i] or [],
            transfers=call_cols["transfers"][i],
            queue=call_cols["queue"][i],
            queue_join=call_cols["queue_join"][i],
            queue_connect=call_cols["queue_connect"][i],
            queue_leave=call_cols["queue_leave"][i],
            server=call_cols.get("server", none)[i],
            session=call_cols.get("session", none)[i],
            epoch=call_cols["epoch"][i],
        )
        rows.append(summarize_call(call, by_call.get((call_cols[SCOPE][i], call_id), [])))
    # list columns are built in polars (Python lists of lists convert slowly)
    channels = (
        chan_df.lazy()
        .sort("first_pos")
        .group_by(SCOPE, CALL, maintain_order=True)
        .agg(pl.col("channel").drop_nulls().alias("channels"))
    )
    aligned = (
        call_df.lazy()
        .select(SCOPE, CALL, "linkedids")
        .join(channels, on=[SCOPE, CALL], how="left", maintain_order="left")
        .collect()
    )
    given = {
        "linkedids": aligned["linkedids"].fill_null([]),
        "channels": aligned["channels"].fill_null([]),
    }
    hung = (
        chan_df.lazy()
        .group_by(SCOPE, CALL)
        .agg(pl.col("hangup_pos").is_not_null().all().alias("_all_hung"))
    )
    keys = (
        call_df.lazy()
        .select(SCOPE, CALL, "_first_pos", "_last_pos", "last_time")
        .join(hung, on=[SCOPE, CALL], how="left", maintain_order="left")
        .with_columns(pl.col("_all_hung").fill_null(False))
        .collect()
    )
    return summaries_frame(rows, given), keys
