"""The call model: which fields link channels into a call, and how a call's outcome is decided.

This module is the single definition shared by the batch functions (:func:`calls`,
:func:`with_call_id`, which work on polars frames) and the live :class:`CallTracker`
(which consumes messages one at a time). Both build the same per-channel facts and hand
them to :func:`summarize_call`; both link channels with the fields in :data:`LINK_KEYS`,
the Local-pair rule of :func:`local_pair_key` and the bridge rule below. It is pure Python
(no polars), so the tracker stays light.

Rules (docs/protocol.md §3.4):

Rule 1 - ids. Every Uniqueid and Linkedid that appears in one event, under any role prefix
  (``Dest``, ``Transferer``, ``LocalOne`` ...), or under the legacy AMI 1.x names
  (``UniqueID``, ``DestUniqueID``, ``Uniqueid1``/``Uniqueid2``), belongs to the same call.
  A Linkedid is the Uniqueid of the oldest channel of its call, so ids live in one
  namespace; a channel whose Linkedid changes (transfer, pickup) thereby joins both calls.
Rule 2 - Local pairs. ``Local/x@ctx-0000002a;2`` belongs with the most recent ``;1`` of the
  same name seen before it (names are reused after a restart, so "most recent" matters).
Rule 3 - bridges. Bridges do **not** link calls (a ConfBridge or a parking lot holds
  many calls that Asterisk keeps apart). Events that carry only a bridge id
  (``BridgeCreate``, ``BridgeDestroy``) go to the call of the first channel seen in that
  bridge.
Rule 4 - the call id is the first Linkedid seen among the call's events (the original
  call's, after a transfer); without any Linkedid (AMI 1.x) the first Uniqueid.
Rule 5 - the first channel is the one whose Uniqueid is the call id, else the earliest.
Rule 6 - disposition mirrors Asterisk's CDR engine (``cdr.c``) for the first channel:
  ANSWERED if it was answered (reached state Up) or one of its dials (as the caller, or
  as the channel an Originate dialled) ended ANSWER; else its last dial status
  (BUSY -> BUSY, NOANSWER/CANCEL -> NO ANSWER, anything else -> FAILED); else its hangup
  cause (17 -> BUSY; 3, 20, 34 -> FAILED; 0 or none -> FAILED; any other -> NO ANSWER).
Rule 7 - what the recording did not see is not guessed. A call is ``in_progress`` when one
  of its channels has no ``Hangup`` (the recording stopped, or the link to the PBX was
  lost, before the call ended): its ``end``, ``duration``, ``billsec`` and
  ``disposition`` are null. A call ``joined_late`` when one of its channels was first
  seen by an event other than its ``Newchannel`` (it already existed when the recording
  started, as in a first ``CoreShowChannels``/``Status`` list, or was created while the
  link was down): its ``start`` is the first time it was seen.
Rule 8 - boundaries. Channels are linked only within one ``server``, one recording
  ``session`` and one PBX *epoch* (the time between two restarts, see
  :class:`EpochRule`): Local channel names and Uniqueid counters start again after a
  restart, and two servers or two recordings know nothing of each other's ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._unionfind import UnionFind
from ..protocol.fields import CHANNEL_ROLES

__all__ = [
    "CHANNEL_ROLES",
    "DISPOSITIONS",
    "LINK_KEYS",
    "PLACEHOLDER_IDS",
    "ChannelFacts",
    "EpochRule",
    "UnionFind",
    "decide_disposition",
    "is_up_state",
    "local_pair_key",
    "normalized_event",
    "outcome_text",
    "summarize_call",
]

#: Lower-cased header names whose values are channel ids (Uniqueid or Linkedid).
LINK_KEYS: frozenset[str] = frozenset(
    [(role + "Uniqueid").lower() for role in CHANNEL_ROLES]
    + [(role + "Linkedid").lower() for role in CHANNEL_ROLES]
    + ["uniqueid1", "uniqueid2", "swapuniqueid", "destuniqueid"]
)

#: Id values that stand for "no channel" (Originate failures say ``<unknown>``, a global
#: ``VarSet`` says ``none``): never links.
PLACEHOLDER_IDS: frozenset[str] = frozenset({"", "<unknown>", "none", "<none>", "(null)"})

DISPOSITIONS: tuple[str, ...] = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED")

_LOCAL = re.compile(r"^(Local/.+);([12])$")

# DialStatus -> CDR disposition (cdr.c dial_status_to_disposition; CONGESTION -> FAILED
# unless cdr.conf congestion=yes).
_DIAL_DISPOSITION = {
    "ANSWER": "ANSWERED",
    "BUSY": "BUSY",
    "NOANSWER": "NO ANSWER",
    "CANCEL": "NO ANSWER",
}
# Hangup cause -> CDR disposition (cdr.c cdr_object_set_disposition); unmapped causes
# leave the disposition unset, which cdr_csv prints as NO ANSWER.
_CAUSE_DISPOSITION = {17: "BUSY", 34: "FAILED", 3: "FAILED", 20: "FAILED", 0: "FAILED"}


def local_pair_key(channel: str | None) -> tuple[str, int] | None:
    """``("Local/x@ctx-0000002a", 1)`` for a Local channel half, else ``None``."""
    if not channel or not channel.startswith("Local/"):
        return None
    match = _LOCAL.match(channel)
    if match is None:
        return None
    return match.group(1), int(match.group(2))


def normalized_event(name: str | None, subevent: str | None) -> str | None:
    """Map AMI 1.x ``Dial`` (``SubEvent: Begin/End``) onto ``DialBegin``/``DialEnd``."""
    if name == "Dial" and subevent:
        return "Dial" + subevent.capitalize()
    return name


def is_up_state(state: str | None, desc: str | None) -> bool:
    """Whether a snapshot's ``ChannelState``/``ChannelStateDesc`` (or legacy ``State``) is Up."""
    return state == "6" or desc == "Up"


def decide_disposition(
    answered: bool, dial_statuses: Sequence[str], hangup_cause: str | None
) -> str:
    """The CDR disposition of a call's first channel (Rule 6 of the module docstring).

    Parameters
    ----------
    answered
        Whether the first channel reached state Up.
    dial_statuses
        ``DialStatus`` of every ``DialEnd`` where the first channel was the caller or the
        channel an Originate dialled, in arrival order.
    hangup_cause
        ``Cause`` of the first channel's ``Hangup`` (a string, as on the wire).

    Returns
    -------
    str
        One of ``ANSWERED``, ``NO ANSWER``, ``BUSY``, ``FAILED``.
    """
    if answered or "ANSWER" in dial_statuses:
        return "ANSWERED"
    if dial_statuses:
        return _DIAL_DISPOSITION.get(dial_statuses[-1], "FAILED")
    try:
        cause = int(hangup_cause) if hangup_cause not in (None, "") else 0
    except ValueError:
        cause = 0
    return _CAUSE_DISPOSITION.get(cause, "NO ANSWER")


@dataclass
class ChannelFacts:
    """What a call summary needs to know about one channel (one Uniqueid).

    ``pos`` values are arrival positions (row numbers); times are the server
    ``Timestamp`` when present, else the arrival time, else ``None``.
    """

    uniqueid: str
    channel: str | None = None
    first_pos: int = 0
    first_time: datetime | None = None
    linkedid: str | None = None
    up_time: datetime | None = None
    hangup_pos: int | None = None
    hangup_time: datetime | None = None
    cause: str | None = None
    cause_txt: str | None = None
    request_pos: int | None = None
    # whether the channel's Newchannel was seen (Rule 7)
    created_seen: bool = True
    caller_num: str | None = None
    caller_name: str | None = None
    exten: str | None = None
    # (pos, DialStatus, DestChannel, time) of each DialEnd where this channel dialled, or
    # (for an Originate, which has no calling channel) was dialled.
    dials: list[tuple[int, str, str | None, datetime | None]] = field(default_factory=list)


@dataclass
class CallFacts:
    """Call-level facts that do not belong to one channel."""

    call_id: str
    n_events: int = 0
    first_time: datetime | None = None
    last_time: datetime | None = None
    linkedids: list[str] = field(default_factory=list)
    transfers: int = 0
    queue: str | None = None
    queue_join: datetime | None = None
    queue_connect: datetime | None = None
    queue_leave: datetime | None = None
    server: str | None = None
    session: str | None = None
    epoch: int = 0


#: The columns of :func:`calls`, in order, with their meaning.
CALL_COLUMNS: dict[str, str] = {
    "call_id": "the call's first Linkedid (Rule 4)",
    "linkedids": "every Linkedid seen in the call, in order",
    "start": "time of the call's first event",
    "answer": "first time a channel of the call was Up; null if never answered",
    "end": "time of the last Hangup (or last event when no Hangup was seen)",
    "duration": "end - start, seconds",
    "billsec": "end - answer, seconds (0 if never answered)",
    "ring_time": "answer (or end) - start, seconds",
    "caller_num": "CallerIDNum of the first channel",
    "caller_name": "CallerIDName of the first channel",
    "dialed": "the number the first channel called",
    "answered_by": "the channel that answered",
    "answered": "some channel of the call was answered",
    "disposition": "CDR disposition of the first channel (Rule 6)",
    "hangup_cause": "Cause of the first Hangup with a cause other than 0 (else the first)",
    "hangup_cause_txt": "its Cause-txt",
    "hangup_by": "the channel that hung up first",
    "first_channel": "name of the first channel",
    "channels": "channel names in order of appearance",
    "n_channels": "number of channels",
    "transfers": "number of BlindTransfer/AttendedTransfer events",
    "queue": "queue the call went through, if any",
    "queue_wait": "seconds from QueueCallerJoin to AgentConnect (or leaving the queue)",
    "n_events": "number of events",
    "in_progress": "a channel had not hung up when the recording stopped (Rule 7)",
    "joined_late": "a channel existed before it was first seen (Rule 7)",
    "server": "the PBX recorded (host:port or the name given)",
    "session": "the recording run the call was seen in",
    "epoch": "PBX epoch within the session: 0, then +1 after each detected restart",
}


def call_flags(channels: Iterable[ChannelFacts]) -> tuple[bool, bool]:
    """``(in_progress, joined_late)`` of a call from its channels (Rule 7)."""
    chans = list(channels)
    return (
        any(c.hangup_pos is None for c in chans),
        any(not c.created_seen for c in chans),
    )


def unseen_note(in_progress: bool, joined_late: bool) -> str:
    """What a view of one call says about the parts the recording did not see."""
    notes = []
    if joined_late:
        notes.append(f"{JOINED_LATE}: it began before the recording")
    if in_progress:
        notes.append(f"{IN_PROGRESS}: the recording stopped before it ended")
    return "; ".join(notes)


IN_PROGRESS = "in progress"
JOINED_LATE = "joined late"


def outcome_text(call: Any) -> str:
    """How a call's outcome reads wherever calls are shown (Rule 7).

    Its disposition; ``in progress`` for a call that had not ended when the recording
    stopped (never ``FAILED``); either followed by ``, joined late`` for a call that
    began before the recording did. ``call`` is a summary row (a mapping).
    """
    text = IN_PROGRESS if call.get("in_progress") else call.get("disposition") or "?"
    return f"{text}, {JOINED_LATE}" if call.get("joined_late") else text


_BAD_CALLERID = frozenset({"", "<unknown>", "<Unknown>"})


def good_callerid(value: str | None) -> bool:
    return value is not None and value not in _BAD_CALLERID


def _seconds(later: Any, earlier: Any) -> float | None:
    """Seconds between two times: datetimes (live) or epoch microseconds (batch)."""
    if later is None or earlier is None:
        return None
    if isinstance(later, int):
        return (later - earlier) / 1e6
    return float((later - earlier).total_seconds())


def _dialed(first: ChannelFacts) -> str | None:
    local = local_pair_key(first.channel)
    if local is not None:
        return local[0][len("Local/") :].split("@", 1)[0]
    return first.exten


def summarize_call(call: CallFacts, channels: Sequence[ChannelFacts]) -> dict[str, Any]:
    """One row of :func:`calls` from a call's facts (used by batch and live alike).

    Rule 7 decides ``in_progress`` and ``joined_late`` here, once for both.
    """
    chans = sorted(channels, key=lambda c: c.first_pos)
    first = next((c for c in chans if c.uniqueid == call.call_id), chans[0] if chans else None)
    dial_answers = sorted(
        (d for c in chans for d in c.dials if d[1] == "ANSWER"), key=lambda d: d[0]
    )
    up_times = [c.up_time for c in chans if c.up_time is not None]
    up_times += [d[3] for d in dial_answers if d[3] is not None]
    answer = min(up_times) if up_times else None
    answered = bool(up_times) or bool(dial_answers)
    hangups = sorted(
        (c for c in chans if c.hangup_pos is not None), key=lambda c: c.hangup_pos or 0
    )
    hangup_times = [c.hangup_time for c in hangups if c.hangup_time is not None]
    in_progress, joined_late = call_flags(chans)
    # Rule 7: an unfinished call has no end (not the last event, not a leg's hangup)
    end = None if in_progress else max(hangup_times) if hangup_times else call.last_time
    start = call.first_time
    requests = sorted(
        (c for c in chans if c.request_pos is not None), key=lambda c: c.request_pos or 0
    )
    # the first Hangup that says why (Local halves torn down by their peer say "0")
    cause_from = next((c for c in hangups if c.cause not in (None, "", "0")), None)
    if cause_from is None and hangups:
        cause_from = hangups[0]
    hangup_by = requests[0].channel if requests else hangups[0].channel if hangups else None
    answered_by = None
    # an Originate's own outcome (the dialled channel is the channel itself) names no one
    dialled = sorted(
        (d for c in chans for d in c.dials if d[1] == "ANSWER" and d[2] and d[2] != c.channel),
        key=lambda d: d[0],
    )
    real = [d for d in dialled if local_pair_key(d[2]) is None]
    if real or dialled:
        answered_by = (real or dialled)[-1][2]
    if answered_by is None and answered:
        ups = sorted(
            (c for c in chans if c.up_time is not None and c is not first),
            key=lambda c: (c.up_time, c.first_pos),
        )
        answered_by = ups[0].channel if ups else (first.channel if first else None)
    if in_progress:
        disposition = None
    elif first is not None:
        statuses = [d[1] for d in sorted(first.dials, key=lambda d: d[0])]
        disposition = decide_disposition(first.up_time is not None, statuses, first.cause)
    else:
        disposition = "FAILED"
    queue_end = call.queue_connect or call.queue_leave
    return {
        "call_id": call.call_id,
        "linkedids": list(call.linkedids),
        "start": start,
        "answer": answer,
        "end": end,
        "duration": _seconds(end, start),
        "billsec": (_seconds(end, answer) if answer is not None else 0.0)
        if end is not None
        else None,
        "ring_time": _seconds(answer if answer is not None else end, start),
        "caller_num": first.caller_num if first else None,
        "caller_name": first.caller_name if first else None,
        "dialed": _dialed(first) if first else None,
        "answered_by": answered_by,
        "answered": answered,
        "disposition": disposition,
        "hangup_cause": cause_from.cause if cause_from else None,
        "hangup_cause_txt": cause_from.cause_txt if cause_from else None,
        "hangup_by": hangup_by,
        "first_channel": first.channel if first else None,
        "channels": [c.channel for c in chans if c.channel],
        "n_channels": len(chans),
        "transfers": call.transfers,
        "queue": call.queue,
        "queue_wait": _seconds(queue_end, call.queue_join),
        "n_events": call.n_events,
        "in_progress": in_progress,
        "joined_late": joined_late,
        "server": call.server,
        "session": call.session,
        "epoch": call.epoch,
    }


#: Seconds two estimates of the PBX's startup time (arrival time - ``Uptime``) may differ by
#: and still be the same run: ``Uptime`` is whole seconds and arrival lags the server.
STARTUP_TOLERANCE = 3.0

#: The events and response fields :class:`EpochRule` reads (lower-cased ``extra`` keys).
EPOCH_KEYS: tuple[str, ...] = ("uptime", "corestartupdate", "corestartuptime")


def uniqueid_counter(uniqueid: str | None) -> int | None:
    """The PBX-wide channel counter of a Uniqueid (``[sysname-]<epoch>.<counter>``)."""
    if not uniqueid:
        return None
    _, dot, tail = uniqueid.rpartition(".")
    return int(tail) if dot and tail.isdigit() else None


class EpochRule:
    """Rule 8: which PBX run (epoch) each message of one server and session belongs to.

    Feed every message in arrival order; :meth:`feed` returns its epoch (0, then +1 per
    restart). A restart is seen on the wire as

    * a new startup time: ``CoreStatus``'s ``CoreStartupDate``/``CoreStartupTime`` differ
      from the last ones seen, or ``FullyBooted``'s arrival time minus its ``Uptime``
      differs from the last such estimate by more than :data:`STARTUP_TOLERANCE`;
    * or, after a reconnect (a new ``connection`` number or a gap row), Uniqueids counting
      again from below the highest counter seen before (the first ``Newchannel`` decides:
      above it, the PBX kept running and the calls go on).

    A reconnect alone (a network blip) never starts an epoch. The message that proves the
    restart is the first of the new epoch; a restart always drops the AMI link, so nothing
    of the old epoch follows it.
    """

    def __init__(self) -> None:
        self.epoch = 0
        self._connection: Any = None
        self._reconnected = False
        self._startup: float | None = None
        self._startup_text: str | None = None
        self._max_counter = -1

    def _restart(self) -> None:
        self.epoch += 1
        self._reconnected = False
        self._max_counter = -1

    def feed(
        self,
        *,
        kind: str | None,
        event: str | None,
        connection: Any = None,
        time: float | None = None,
        uniqueid: str | None = None,
        uptime: str | None = None,
        startup: str | None = None,
    ) -> int:
        """The epoch of one message.

        ``time`` is its time in epoch seconds (server ``Timestamp`` or arrival), ``uptime``
        a ``FullyBooted`` ``Uptime``, ``startup`` ``CoreStartupDate`` + ``CoreStartupTime``.
        """
        if kind == "gap":
            self._reconnected = True
        if connection is not None:
            if self._connection is not None and connection != self._connection:
                self._reconnected = True
            self._connection = connection
        if startup:
            if self._startup_text is not None and startup != self._startup_text:
                self._restart()
            self._startup_text = startup
        if uptime is not None and time is not None and event == "FullyBooted":
            try:
                began = time - float(uptime)
            except ValueError:
                began = None
            if began is not None:
                if self._startup is not None and abs(began - self._startup) > STARTUP_TOLERANCE:
                    self._restart()
                self._startup = began
        if event == "Newchannel":
            counter = uniqueid_counter(uniqueid)
            if counter is not None:
                if self._reconnected and counter < self._max_counter:
                    self._restart()
                self._reconnected = False
                self._max_counter = max(self._max_counter, counter)
        return self.epoch
