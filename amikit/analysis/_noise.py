"""Cutting the noise: ``drop_noise``, ``fold_dialplan``, ``changes``.

A call produces dozens to hundreds of events and 85-92 % of an unfiltered stream is
``VarSet``/``Newexten`` (docs/protocol.md §3.3). These three views keep what a person
reading a call needs:

* ``drop_noise`` removes whole event kinds (a documented default set);
* ``fold_dialplan`` keeps the dialplan but folds each channel's run of
  ``Newexten``/``VarSet`` into one row listing the applications and variables;
* ``changes`` keeps every row but blanks, per channel, the fields that did not change
  since that channel's previous event.

All three are lazy polars expressions (window functions over the channel id); no
Python runs per event.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from .._noise import NOISE_EVENTS, SECURITY_EVENTS, is_noise
from ..record import META_COLUMNS, WIDE_COLUMNS
from ._frame import POS, TIME, FrameT, columns_of, lazy, like, require, time_expr

__all__ = [
    "DIALPLAN_EVENTS",
    "NOISE_EVENTS",
    "SECURITY_EVENTS",
    "changes",
    "drop_noise",
    "is_noise",
]

#: The dialplan-execution events that ``fold_dialplan`` folds.
DIALPLAN_EVENTS: tuple[str, ...] = ("Newexten", "VarSet")


def _name_matcher(names: Iterable[str]) -> pl.Expr:
    """``event`` matches one of ``names``; a trailing ``*`` means a prefix."""
    exact = [n for n in names if not n.endswith("*")]
    prefixes = [n[:-1] for n in names if n.endswith("*")]
    expr = pl.col("event").is_in(exact)
    for prefix in prefixes:
        expr = expr | pl.col("event").str.starts_with(prefix)
    return expr.fill_null(False)


def drop_noise(
    frame: FrameT,
    extra: Iterable[str] = (),
    keep: Iterable[str] = (),
) -> FrameT:
    """Drop the events that are noise for reading calls.

    Parameters
    ----------
    frame
        Events as ``amikit.load``/``amikit.scan`` return them.
    extra
        More event names to drop (``"DTMF*"`` style prefixes allowed).
    keep
        Names (or prefixes) to keep although in :data:`NOISE_EVENTS` or ``extra``, e.g.
        ``keep=["Newexten"]`` to see which applications ran.

    Returns
    -------
    DataFrame or LazyFrame
        The rows that are not noise (responses and gaps are always kept), same columns
        and kind as the input.

    Examples
    --------
    >>> import polars as pl
    >>> from amikit.analysis import drop_noise
    >>> df = pl.DataFrame({"kind": ["event"] * 3, "event": ["Newchannel", "VarSet", "RTCPSent"]})
    >>> drop_noise(df)["event"].to_list()
    ['Newchannel']
    """
    lf = lazy(frame)
    require(lf, ["event"])
    keep = list(keep)
    kept_names = set(keep)
    names = [n for n in (*NOISE_EVENTS, *extra) if n not in kept_names]
    noisy = _name_matcher(names)
    if keep:
        noisy = noisy & ~_name_matcher(keep)
    if "kind" in columns_of(lf):
        noisy = noisy & (pl.col("kind") == "event").fill_null(True)
    return like(lf.filter(~noisy), frame)


def _channel_key(cols: set[str]) -> pl.Expr:
    parts = [pl.col(c) for c in ("Uniqueid", "Channel") if c in cols]
    if not parts:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce(parts)


def fold_dialplan(frame: FrameT) -> FrameT:
    """Fold each channel's run of ``Newexten``/``VarSet`` into one ``Dialplan`` row.

    A run is a sequence of dialplan events of one channel (Uniqueid) with no other event
    of that channel in between; events of other channels may interleave.

    Parameters
    ----------
    frame
        Events as ``amikit.load``/``amikit.scan`` return them.

    Returns
    -------
    DataFrame or LazyFrame
        Other events unchanged; each run replaced by one row at the run's first position,
        with ``event == "Dialplan"``, the channel fields of its first event and the new
        columns ``applications`` (``"App(data)"`` per Newexten, in order), ``variables``
        (``"NAME=value"`` per VarSet, in order), ``folded`` (number of events) and
        ``last`` (time of the run's last event). The new columns are null on other rows.
    """
    lf = lazy(frame)
    require(lf, ["event"])
    cols: list[str] = columns_of(lf)
    have = set(cols)
    key = _channel_key(have)

    def c(name: str) -> pl.Expr:
        return pl.col(name) if name in have else pl.lit(None, dtype=pl.String)

    lf = lf.with_row_index(POS).with_columns(time_expr(cols), key.alias("_chan"))
    is_dp = pl.col("event").is_in(DIALPLAN_EVENTS).fill_null(False) & pl.col("_chan").is_not_null()
    lf = lf.with_columns(is_dp.alias("_dp"))
    # a new run starts whenever the channel's previous event was not a dialplan event
    starts = (pl.col("_dp") & ~pl.col("_dp").shift(1).over("_chan").fill_null(False)).cast(
        pl.UInt32
    )
    lf = lf.with_columns(starts.cum_sum().over("_chan").alias("_run"))
    app = c("Application") + pl.lit("(") + c("AppData").fill_null("") + pl.lit(")")
    var = c("Variable") + pl.lit("=") + c("Value").fill_null("")
    runs = (
        lf.filter(pl.col("_dp"))
        .group_by("_chan", "_run")
        .agg(
            pl.all().exclude("_chan", "_run", "_dp").first(),
            app.filter(pl.col("event") == "Newexten").alias("applications"),
            var.filter(pl.col("event") == "VarSet").alias("variables"),
            pl.len().cast(pl.Int64).alias("folded"),
            pl.col(TIME).last().alias("last"),
        )
        .with_columns(pl.lit("Dialplan").alias("event"))
    )
    if "extra" in have:
        runs = runs.with_columns(pl.col("extra").list.head(0))
    for name in ("Application", "AppData", "Variable", "Value"):
        if name in have:
            runs = runs.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    others = lf.filter(~pl.col("_dp")).with_columns(
        pl.lit(None, dtype=pl.List(pl.String)).alias("applications"),
        pl.lit(None, dtype=pl.List(pl.String)).alias("variables"),
        pl.lit(None, dtype=pl.Int64).alias("folded"),
        pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("last"),
    )
    out_cols = [*cols, "applications", "variables", "folded", "last"]
    out = (
        pl.concat([others.select(POS, *out_cols), runs.select(POS, *out_cols)], how="vertical")
        .sort(POS)
        .drop(POS)
    )
    return like(out, frame)


#: Columns ``changes`` never blanks: they say what the row is and whose it is.
IDENTITY_COLUMNS: frozenset[str] = frozenset(
    {*META_COLUMNS, "Channel", "Uniqueid", "Privilege", "Response", "extra"}
)


def changes(frame: FrameT) -> FrameT:
    """Per channel, keep only the fields that changed since that channel's previous event.

    The "remove the repeated information" view: a channel's snapshot (state, caller id,
    context, Linkedid ...) is repeated on every event; here a field is null when it
    equals the value on the same channel's previous event.

    Parameters
    ----------
    frame
        Events as ``amikit.load``/``amikit.scan`` return them.

    Returns
    -------
    DataFrame or LazyFrame
        The same rows and columns; wide AMI columns other than ``Channel``/``Uniqueid``
        blanked where unchanged, plus ``changed``: the names of the fields that changed
        (all present fields on a channel's first event). Rows without a channel are
        unchanged.
    """
    lf = lazy(frame)
    cols = columns_of(lf)
    have = set(cols)
    key = _channel_key(have)
    lf = lf.with_columns(key.alias("_chan"))
    watched = [c for c in cols if c in set(WIDE_COLUMNS) and c not in IDENTITY_COLUMNS]
    exprs = []
    flags = []
    for name in watched:
        previous = pl.col(name).shift(1).over("_chan")
        same = (pl.col(name) == previous).fill_null(False) & pl.col("_chan").is_not_null()
        exprs.append(pl.when(same).then(None).otherwise(pl.col(name)).alias(name))
        flags.append(pl.when(~same & pl.col(name).is_not_null()).then(pl.lit(name)).otherwise(None))
    changed = (
        pl.concat_list(flags).list.drop_nulls() if flags else pl.lit([], dtype=pl.List(pl.String))
    )
    out = lf.with_columns(changed.alias("changed")).with_columns(exprs).drop("_chan")
    return like(out, frame)
