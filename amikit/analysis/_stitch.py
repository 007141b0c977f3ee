"""From the facts of many slices to one row per call (issue 12).

:mod:`._facts` reduces each slice of events (a chunk, a part, a (server, day)
partition) on its own; the tables it returns carry global positions, so stitching them
is exact: a channel or call that spans slices simply has rows in several of them, and
every "first" fact is the one at the smallest position. Memory here follows channels and
calls, never events.

1. Rule 5 (AMI 1.x): events known only by channel name get the Uniqueid that bore the
   name at that moment (an as-of lookup over the name changes of every slice), and a
   ``Masquerade`` links its original and clone channels.
2. Connected components over channel ids (Rules 1 and 2): the live tracker's union-find,
   over links (a few per channel, far fewer than events).
3. Rule 4 names each set's call; Rule 3 gives bridge-only facts the call of the first
   channel seen in their bridge.
4. The facts of each call go, in batches, through :func:`._rules.summarize_call`: the
   one function the live ``CallTracker`` uses too.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import polars as pl

from ._facts import Facts
from ._rules import PLACEHOLDER_IDS, CallFacts, ChannelFacts, summarize_call

__all__ = ["summarize_facts"]

CALL = "call_id"
_SUMMARY_BATCH = 20_000  # calls per hand-over to Python (bounds the Python objects alive)


def _at_first(name: str) -> list[pl.Expr]:
    """Merge a "first seen" fact: the value at the smallest position, and that position."""
    pos = f"{name}_pos"
    return [
        pl.col(name).filter(pl.col(pos) == pl.col(pos).min()).first().alias(name),
        pl.col(pos).min().alias(pos),
    ]


def _resolve_names(facts: Facts) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(okey -> uid, masquerade links)`` for the events known only by name (Rule 5)."""
    from ._calls import resolve_names

    if not facts.queries.height or not facts.names.height:
        empty = pl.DataFrame(schema={"okey": pl.Int64, "_nuid": pl.String})
        return empty, pl.DataFrame(schema={"a": pl.String, "b": pl.String})
    mine, links = resolve_names(facts.queries.lazy().sort("_pos"), facts.names.lazy().sort("_pos"))
    return mine.rename({"_pos": "okey"}), links


def _local_pair_links(chans: pl.DataFrame) -> pl.DataFrame:
    """Links ``;2`` -> most recent earlier ``;1`` of the same Local name (Rule 2)."""
    from ._calls import local_pair_links

    first_local = chans.lazy().select(
        pl.col("uniqueid").alias("_uid"),
        pl.col("local").alias("Channel"),
        pl.col("local_pos").alias("_pos"),
    )
    return local_pair_links(first_local.filter(pl.col("Channel").is_not_null())).collect()


def components(ids: pl.Series, links: pl.DataFrame) -> pl.DataFrame:
    """``(_id, _root)``: a label per connected set of ids (Rules 1 and 2).

    The union-find of :mod:`._rules` (the live tracker's) over the links, which are a few
    per channel; ids without a link are their own root.
    """
    from ._calls import link_roots

    roots = link_roots(links)
    alone = pl.DataFrame({"_id": ids}).unique().filter(~pl.col("_id").is_in(roots["_id"].implode()))
    return pl.concat([roots, alone.with_columns(pl.col("_id").alias("_root"))])


def summarize_facts(facts: Facts) -> pl.DataFrame:
    """One row per call (the :func:`._calls.calls` frame) from the stitched facts."""
    from ._calls import summaries_frame

    placeholders = list(PLACEHOLDER_IDS)
    # 1. Rule 5: names -> ids; then every group's first id is known
    resolved, masq_links = _resolve_names(facts)

    def resolve(table: pl.DataFrame) -> pl.LazyFrame:
        return (
            table.lazy()
            .join(resolved.lazy(), on="okey", how="left")
            .with_columns(pl.coalesce("_nuid", "a").alias("a"))
            .drop("_nuid")
        )

    groups = resolve(facts.groups)
    lids = resolve(facts.lids)
    chans = (
        facts.chans.lazy()
        .group_by("uniqueid")
        .agg(
            *_at_first("channel"),
            pl.col("first_pos").min(),
            pl.col("first_time").filter(pl.col("first_pos") == pl.col("first_pos").min()).first(),
            *_at_first("linkedid"),
            pl.col("up_time").min(),
            *[
                pl.col(c).filter(pl.col("hangup_pos") == pl.col("hangup_pos").min()).first()
                for c in ("hangup_time", "cause", "cause_txt")
            ],
            pl.col("hangup_pos").min(),
            pl.col("request_pos").min(),
            *_at_first("caller_num"),
            *_at_first("caller_name"),
            *_at_first("exten"),
            *_at_first("local"),
        )
        .collect()
    )
    # 2. the sets of linked ids
    links = pl.concat([facts.links, masq_links, _local_pair_links(chans)]).unique()
    groups = groups.collect()
    lids = lids.collect()
    ids = pl.concat([links["a"], links["b"], groups["a"].drop_nulls(), chans["uniqueid"]]).alias(
        "_id"
    )
    roots = components(ids, links).lazy()

    def rooted(table: pl.LazyFrame, on: str) -> pl.LazyFrame:
        return table.join(roots, left_on=on, right_on="_id", how="left")

    # 3. Rule 4: the first Linkedid seen in the call, else the first id of its first event
    candidates = pl.concat(
        [
            lids.lazy()
            .filter(~pl.col("linkedid").is_in(placeholders))
            .group_by(pl.col("linkedid").alias("_id"))
            .agg(pl.col("pos").min(), pl.lit(0).alias("_prio")),
            groups.lazy()
            .filter(pl.col("a").is_not_null())
            .group_by(pl.col("a").alias("_id"))
            .agg(pl.col("first_pos").min().alias("pos"), pl.lit(1).alias("_prio")),
        ]
    )
    call_of_root = (
        rooted(candidates, "_id")
        .sort("_prio", "pos")
        .group_by("_root")
        .agg(pl.col("_id").first().alias(CALL))
    )
    # Rule 3: bridge-only facts join the call of the first channel seen in the bridge
    bridge_first = (
        groups.lazy()
        .filter(pl.col("a").is_not_null() & pl.col("bridge").is_not_null())
        .sort("first_pos")
        .group_by("bridge")
        .agg(pl.col("a").first().alias("_ba"))
    )

    def called(table: pl.LazyFrame) -> pl.LazyFrame:
        return (
            table.join(bridge_first, on="bridge", how="left")
            .with_columns(pl.coalesce("a", "_ba").alias("a"))
            .filter(pl.col("a").is_not_null())
            .pipe(rooted, "a")
            .join(call_of_root, on="_root", how="left")
        )

    first_facts = ["first_time", "queue", "queue_join", "queue_connect", "queue_leave"]
    call_df = (
        called(groups.lazy())
        .group_by(CALL)
        .agg(
            pl.col("n_events").sum(),
            pl.col("first_pos").min().alias("_first_pos"),
            pl.col("last_time").max(),
            pl.col("transfers").sum(),
            *[e for name in first_facts for e in _at_first(name)],
        )
    )
    linkedids = (
        called(lids.lazy())
        .group_by(CALL, "linkedid")
        .agg(pl.col("pos").min())
        .sort("pos")
        .group_by(CALL)
        .agg(pl.col("linkedid").alias("linkedids"))
    )
    call_df = (
        call_df.join(linkedids, on=CALL, how="left")
        .with_columns(pl.col("linkedids").fill_null([]))
        .sort("_first_pos")
        .collect()
    )
    chan_df = (
        rooted(chans.lazy(), "uniqueid")
        .join(call_of_root, on="_root", how="left")
        .join(call_df.lazy().select(CALL, "_first_pos"), on=CALL)
        .sort("_first_pos", "first_pos")
        .collect()
    )
    dials = facts.dials.sort("_pos")
    return summaries_frame(*_summaries(call_df, chan_df, dials))


_CHANNEL_FIELDS = [f.name for f in fields(ChannelFacts) if f.name not in ("uniqueid", "dials")]
_CALL_FIELDS = [f.name for f in fields(CallFacts) if f.name != "call_id"]


def _summaries(
    call_df: pl.DataFrame, chan_df: pl.DataFrame, dials: pl.DataFrame
) -> tuple[list[dict[str, Any]], dict[str, pl.Series]]:
    """The summary rows, calls in order, in batches (few Python objects alive at once)."""
    rows: list[dict[str, Any]] = []
    chan_offsets = chan_df.group_by(CALL, maintain_order=True).len()
    by_call_len = dict(
        zip(chan_offsets[CALL].to_list(), chan_offsets["len"].to_list(), strict=True)
    )
    start = 0
    channel_lists = []
    for lo in range(0, call_df.height, _SUMMARY_BATCH):
        batch = call_df.slice(lo, _SUMMARY_BATCH)
        ids = batch[CALL].to_list()
        count = sum(by_call_len.get(i, 0) for i in ids)
        chan = chan_df.slice(start, count)
        start += count
        chan_dials = (
            dials.filter(pl.col("uniqueid").is_in(chan["uniqueid"].implode()))
            .group_by("uniqueid", maintain_order=True)
            .agg(
                pl.struct(
                    pl.col("_pos").alias("pos"), "status", "dest", pl.col("time").cast(pl.Int64)
                ).alias("dials")
            )
        )
        chan = chan.join(chan_dials, on="uniqueid", how="left", maintain_order="left")
        # times cross to Python as epoch microseconds (converting datetimes is slow)
        chan = chan.with_columns(pl.col(pl.Datetime).cast(pl.Int64))
        batch = batch.with_columns(pl.col(pl.Datetime).cast(pl.Int64))
        c = {name: chan[name].to_list() for name in chan.columns}
        by_call: dict[str, list[ChannelFacts]] = {}
        for i, uniqueid in enumerate(c["uniqueid"]):
            facts = ChannelFacts(uniqueid=uniqueid, **{f: c[f][i] for f in _CHANNEL_FIELDS})
            facts.dials = [
                (d["pos"], d["status"] or "", d["dest"], d["time"]) for d in c["dials"][i] or []
            ]
            by_call.setdefault(c[CALL][i], []).append(facts)
        k = {name: batch[name].to_list() for name in batch.columns}
        for i, call_id in enumerate(ids):
            call = CallFacts(call_id=call_id, **{f: k[f][i] for f in _CALL_FIELDS})
            call.linkedids = call.linkedids or []
            row = summarize_call(call, by_call.get(call_id, []))
            row["linkedids"] = row["channels"] = None  # built in polars below
            rows.append(row)
        channel_lists.append(
            batch.select(CALL).join(
                chan.group_by(CALL, maintain_order=True).agg(
                    pl.col("channel").drop_nulls().alias("channels")
                ),
                on=CALL,
                how="left",
                maintain_order="left",
            )["channels"]
        )
    channels = (
        pl.concat(channel_lists) if channel_lists else pl.Series("channels", [], pl.List(pl.String))
    )
    given = {"linkedids": call_df["linkedids"], "channels": channels.fill_null([])}
    return rows, given


#: Rows per slice when a frame is reduced slice by slice (bounds the events in memory).
SLICE_ROWS = 250_000


def _model_frame(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The events with only the columns the call model reads (projection pushdown).

    Lazy even for a DataFrame, so only one slice at a time is copied: selecting columns
    of a loaded frame would materialise the null columns ``load`` keeps as constants.
    """
    from ._calls import model_columns
    from ._frame import columns_of, lazy, require

    lf = lazy(frame)
    require(lf, ["event"])
    return lf.select(model_columns([c for c in columns_of(lf) if c not in ("_pos", CALL)]))


def _reduce(chunk: pl.LazyFrame, offset: int) -> Facts:
    """The facts of one slice (a Parquet scan reads only its rows) starting at ``offset``."""
    from ._facts import reduce_slice

    return reduce_slice(chunk.collect(), offset)


def calls_in_slices(
    frame: pl.DataFrame | pl.LazyFrame, rows: int = SLICE_ROWS, *, workers: int = 1
) -> pl.DataFrame:
    """:func:`._calls.calls` slice by slice: memory follows channels and calls, not events.

    Each slice of ``rows`` events (in arrival order) is read and reduced on its own, in
    this process or, with ``workers > 1``, in that many processes (a LazyFrame travels
    as its query plan, so a worker reads its own slice of the files); the facts of all
    slices are stitched into exactly the calls of one pass.
    """
    model = _model_frame(frame)
    offsets = list(range(0, max(model.select(pl.len()).collect().item(), 1), rows))
    chunks = [model.slice(offset, rows) for offset in offsets]
    if workers > 1 and len(offsets) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")  # polars' threads do not survive fork
        with ProcessPoolExecutor(min(workers, len(offsets)), mp_context=context) as pool:
            parts = list(pool.map(_reduce, chunks, offsets))
    else:
        parts = [_reduce(chunk, offset) for chunk, offset in zip(chunks, offsets, strict=True)]
    facts = Facts.concat(parts)
    del parts  # (the slices' tables, now copied into one set)
    return summarize_facts(facts)
