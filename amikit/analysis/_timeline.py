"""``timeline``: one call's events as readable rows.

Each row keeps the raw fields and adds ``offset`` (seconds since the call's first event),
``channel`` (the event's channel, Local ``;1``/``;2`` halves optionally folded into one
name), ``who`` (a short endpoint label: ``PJSIP/21`` for ``PJSIP/21-0000001a``) and
``text``, a short sentence such as "PJSIP/21 dials PJSIP/22" or "PJSIP/22 hangs up: Normal
Clearing (16)". Sentences are built with polars expressions (a ``when/then`` chain per
event name), not per row in Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from .._exceptions import UsageError
from ._calls import CALL, prepare, with_scope
from ._frame import POS, TIME, FrameT, columns_of, lazy, like
from ._rules import LINK_KEYS

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

__all__ = ["endpoint_label", "timeline"]

_SUFFIX = r"-[0-9A-Za-z]{6,}(;[12])?$"


def endpoint_label(expr: pl.Expr, *, fold_local: bool = True) -> pl.Expr:
    """``PJSIP/21-0000001a`` -> ``PJSIP/21``; ``Local/1@ctx-0000002a;2`` -> ``Local/1@ctx``.

    Without ``fold_local`` the Local half is kept (``Local/1@ctx;2``).
    """
    replacement = "" if fold_local else "$1"
    return expr.str.replace(_SUFFIX, replacement)


def _channel(expr: pl.Expr, fold_local: bool) -> pl.Expr:
    return expr.str.replace(r";[12]$", "") if fold_local else expr


def _c(cols: set[str], name: str) -> pl.Expr:
    if name in cols:
        return pl.col(name)
    return pl.lit(None, dtype=pl.String)


def sentence(cols: set[str], fold_local: bool = True) -> pl.Expr:
    """The human sentence for each event (a polars expression over the event's fields)."""

    def who(role: str = "") -> pl.Expr:
        return endpoint_label(_c(cols, role + "Channel"), fold_local=fold_local).fill_null("?")

    def f(name: str, default: str = "") -> pl.Expr:
        return _c(cols, name).fill_null(default)

    ev = pl.col("_ev")
    a, b = who(), who("Dest")
    state = f("ChannelStateDesc")
    cause = pl.format("{} ({})", f("Cause-txt", "cause"), f("Cause", "?"))
    bridge = f("BridgeUniqueid").str.slice(0, 8)
    rules: list[tuple[pl.Expr, pl.Expr]] = [
        (
            (ev == "Newchannel") & f("CallerIDNum").is_in(["", "<unknown>", "<Unknown>"]),
            pl.format("{} created (to {})", a, f("Exten")),
        ),
        (
            ev == "Newchannel",
            pl.format("{} created ({} calls {})", a, f("CallerIDNum"), f("Exten")),
        ),
        ((ev == "Newstate") & (state == "Ringing"), pl.format("{} is ringing", a)),
        ((ev == "Newstate") & (state == "Up"), pl.format("{} answers", a)),
        ((ev == "Newstate") & (state == "Ring"), pl.format("{} is calling", a)),
        (ev == "Newstate", pl.format("{} is {}", a, state.str.to_lowercase())),
        (
            (ev == "DialBegin") & _c(cols, "Channel").is_null(),
            pl.format("Originate dials {}", b),
        ),
        (ev == "DialBegin", pl.format("{} dials {}", a, b)),
        (ev == "DialState", pl.format("{} is {}", b, f("DialStatus").str.to_lowercase())),
        (
            (ev == "DialEnd") & (f("DialStatus") == "ANSWER"),
            pl.format(
                "{} answers {}",
                b,
                pl.when(_c(cols, "Channel").is_null()).then(pl.lit("Originate")).otherwise(a),
            ),
        ),
        (ev == "DialEnd", pl.format("dial {} -> {} ends: {}", a, b, f("DialStatus"))),
        (
            (ev == "BridgeEnter") & pl.col("_peer").is_not_null(),
            pl.format("{} and {} bridged", pl.col("_peer"), a),
        ),
        (ev == "BridgeEnter", pl.format("{} enters bridge {}", a, bridge)),
        (ev == "BridgeLeave", pl.format("{} leaves bridge {}", a, bridge)),
        (ev == "BridgeCreate", pl.format("bridge {} created ({})", bridge, f("BridgeType"))),
        (ev == "BridgeDestroy", pl.format("bridge {} destroyed", bridge)),
        (ev == "Hangup", pl.format("{} hangs up: {}", a, cause)),
        (ev == "HangupRequest", pl.format("{} asks to hang up ({})", a, f("Cause", "?"))),
        (ev == "SoftHangupRequest", pl.format("Asterisk hangs up {} ({})", a, f("Cause", "?"))),
        (
            ev == "LocalBridge",
            pl.format(
                "Local pair {} linked", endpoint_label(f("LocalOneChannel"), fold_local=True)
            ),
        ),
        (
            ev == "BlindTransfer",
            pl.format(
                "{} blind-transfers {} ({})", who("Transferer"), who("Transferee"), f("Result")
            ),
        ),
        (
            ev == "AttendedTransfer",
            pl.format(
                "{} completes an attended transfer to {} ({})",
                who("OrigTransferer"),
                who("TransferTarget").replace("?", None).fill_null(who("SecondTransferer")),
                f("Result"),
            ),
        ),
        (ev == "Hold", pl.format("{} puts the call on hold", a)),
        (ev == "Unhold", pl.format("{} takes the call off hold", a)),
        (ev == "MusicOnHoldStart", pl.format("{} hears music on hold", a)),
        (ev == "MusicOnHoldStop", pl.format("{} music on hold stops", a)),
        (ev == "QueueCallerJoin", pl.format("{} waits in queue {}", a, f("Queue"))),
        (ev == "QueueCallerLeave", pl.format("{} leaves queue {}", a, f("Queue"))),
        (ev == "QueueCallerAbandon", pl.format("{} gives up waiting in queue {}", a, f("Queue"))),
        (ev == "AgentCalled", pl.format("queue {} rings {}", f("Queue"), b)),
        (ev == "AgentRingNoAnswer", pl.format("{} does not answer (queue {})", b, f("Queue"))),
        (ev == "AgentConnect", pl.format("{} takes {} from queue {}", b, a, f("Queue"))),
        (ev == "AgentComplete", pl.format("{} finishes queue call with {}", b, a)),
        (ev == "Newexten", pl.format("{} runs {}({})", a, f("Application"), f("AppData"))),
        (ev == "VarSet", pl.format("{} sets {}={}", a, f("Variable"), f("Value"))),
        (
            ev == "DTMFEnd",
            pl.format("{} DTMF {} ({})", a, f("Digit"), f("Direction").str.to_lowercase()),
        ),
        (ev == "DTMFBegin", pl.format("{} DTMF {} starts", a, f("Digit"))),
        (ev == "NewCallerid", pl.format("{} caller id is now {}", a, f("CallerIDNum"))),
        (ev == "NewConnectedLine", pl.format("{} is connected to {}", a, f("ConnectedLineNum"))),
        (ev == "Pickup", pl.format("{} picks up {}", a, who("Target"))),
        (ev == "ParkedCall", pl.format("{} is parked", who("Parkee"))),
        (ev == "UserEvent", pl.format("{} user event {}", a, f("UserEvent"))),
        (ev == "OriginateResponse", pl.format("originate: {}", f("Response"))),
        (ev == "MixMonitorStart", pl.format("{} recording starts", a)),
        (ev == "MixMonitorStop", pl.format("{} recording stops", a)),
    ]
    if "applications" in cols:
        rules.insert(
            0,
            (
                ev == "Dialplan",
                pl.format("{} runs {}", a, pl.col("applications").list.join(", ")),
            ),
        )
    expr: Then | ChainedThen = pl.when(rules[0][0]).then(rules[0][1])
    for cond, text in rules[1:]:
        expr = expr.when(cond).then(text)
    default = (
        pl.when(_c(cols, "Channel").is_not_null()).then(pl.format("{} {}", a, ev)).otherwise(ev)
    )
    return expr.otherwise(default)


def _resolve(tagged: pl.LazyFrame, cols: list[str], call_id: str) -> pl.LazyFrame:
    """The events of the call ``call_id`` names: its id, or any Uniqueid/Linkedid in it."""
    id_cols = [c for c in cols if c.lower() in LINK_KEYS]
    match = pl.any_horizontal([pl.col(CALL) == call_id, *[pl.col(c) == call_id for c in id_cols]])
    wanted = tagged.filter(match.fill_null(False)).select(CALL).drop_nulls().unique()
    return tagged.join(wanted, on=CALL, how="semi")


def timeline(
    frame: FrameT,
    call_id: str,
    *,
    fold_local: bool = False,
) -> FrameT:
    """One call's events, in order, with offsets and a short sentence each.

    Parameters
    ----------
    frame
        Events as ``amikit.load``/``amikit.scan`` return them (pipe through
        :func:`drop_noise` first for a shorter story).
    call_id
        The call (its ``call_id`` from :func:`calls`), or any Uniqueid/Linkedid in it.
    fold_local
        Show the two halves of a Local channel as one channel. Off by default: the
        halves (``Local/200@internal;1`` and ``;2``) each log their own events, which
        would read as duplicated lines under one name.

    Returns
    -------
    DataFrame or LazyFrame
        Columns ``offset`` (seconds since the call's first event), ``time``, ``event``,
        ``channel``, ``who``, ``text``, ``call_id``, then every input column (the raw
        fields).

    Raises
    ------
    UsageError
        If no event belongs to that call (DataFrame input only; a LazyFrame gives an
        empty frame).
    """
    lf = lazy(frame)
    cols = [c for c in columns_of(lf) if c != CALL]
    prepared, extra_long = prepare(lf)
    # grouped within each server, session and PBX epoch, as calls() groups (Rule 8)
    helpers = with_scope(prepared, extra_long).select(POS, TIME, "_ev", CALL)
    # the model works on the columns it reads; the timeline shows them all
    full = lf.select(cols).collect().hstack(helpers)
    events = _resolve(full.lazy(), cols, call_id)
    have = set(full.columns)
    if "BridgeUniqueid" in have and "Channel" in have:
        label = endpoint_label(pl.col("Channel"), fold_local=fold_local)
        enters = pl.col("_ev") == "BridgeEnter"
        events = events.with_columns(
            pl.when(enters & pl.col("BridgeUniqueid").is_not_null())
            .then(pl.col("Channel"))
            .alias("_enter")
        ).with_columns(
            endpoint_label(
                pl.col("_enter").shift(1).forward_fill().over("BridgeUniqueid"),
                fold_local=fold_local,
            ).alias("_peer")
        )
        events = events.with_columns(
            pl.when(enters & (pl.col("_peer") != label)).then(pl.col("_peer")).alias("_peer")
        )
    else:
        events = events.with_columns(pl.lit(None, dtype=pl.String).alias("_peer"))
    start = pl.col(TIME).min()
    out = events.with_columns(
        ((pl.col(TIME) - start).dt.total_microseconds() / 1e6).alias("offset"),
        pl.col(TIME).alias("time"),
        _channel(pl.col("Channel"), fold_local).alias("channel")
        if "Channel" in have
        else pl.lit(None, dtype=pl.String).alias("channel"),
        endpoint_label(_c(have, "Channel"), fold_local=fold_local).alias("who"),
        sentence(have, fold_local).alias("text"),
    ).sort(POS)
    out = out.select(
        "offset",
        "time",
        pl.col("event"),
        "channel",
        "who",
        "text",
        CALL,
        *[c for c in cols if c != "event"],
    )
    if isinstance(frame, pl.DataFrame):
        result = out.collect()
        if result.height == 0:
            msg = f"no event of call {call_id!r} in this frame (see calls(frame)['call_id'])"
            raise UsageError(msg)
        return result
    return like(out, frame)
