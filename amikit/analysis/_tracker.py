"""``CallTracker``: the calls of a live AMI stream, one message at a time.

Same rules as :func:`amikit.analysis.calls` (see :mod:`._rules`): each message is turned
into the recording row (``message_row``) so it reads exactly the fields the batch reads;
the ids it mentions are merged in the same union-find; per channel it keeps the same
facts; and a call's row comes from the same :func:`._rules.summarize_call`. A test feeds
every real capture through both and compares.

The tracker is pure Python; polars loads only when :meth:`CallTracker.calls` builds a
frame. It holds a few small objects per channel, and forgets finished calls only when
asked (:meth:`CallTracker.forget`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..record import WIDE_COLUMNS, message_row
from ._rules import (
    LINK_KEYS,
    PLACEHOLDER_IDS,
    CallFacts,
    ChannelFacts,
    EpochRule,
    UnionFind,
    local_pair_key,
    summarize_call,
)

if TYPE_CHECKING:
    import polars as pl

    from ..protocol import Message

__all__ = ["CallTracker"]

_WIDE_ID_COLUMNS = tuple(c for c in WIDE_COLUMNS if c.lower() in LINK_KEYS)
_BAD_CID = frozenset({"", "<unknown>", "<Unknown>"})


@dataclass
class _CallState:
    """Per-call accumulators; every "first" keeps its position so merges stay exact."""

    n_events: int = 0
    first_time: tuple[int, datetime] | None = None
    last_time: datetime | None = None
    linkedids: dict[str, int] = field(default_factory=dict)
    first_id: tuple[int, str] | None = None
    transfers: int = 0
    queue: tuple[int, str] | None = None
    queue_join: tuple[int, datetime | None] | None = None
    queue_connect: tuple[int, datetime | None] | None = None
    queue_leave: tuple[int, datetime | None] | None = None

    def merge(self, other: _CallState) -> None:
        self.n_events += other.n_events
        self.first_time = _min(self.first_time, other.first_time)
        if other.last_time is not None:
            self.last_time = (
                other.last_time if self.last_time is None else max(self.last_time, other.last_time)
            )
        for lid, pos in other.linkedids.items():
            self.linkedids[lid] = min(pos, self.linkedids.get(lid, pos))
        self.first_id = _min(self.first_id, other.first_id)
        self.transfers += other.transfers
        self.queue = _min(self.queue, other.queue)
        self.queue_join = _min(self.queue_join, other.queue_join)
        self.queue_connect = _min(self.queue_connect, other.queue_connect)
        self.queue_leave = _min(self.queue_leave, other.queue_leave)

    def call_id(self) -> str | None:
        if self.linkedids:
            return min(self.linkedids.items(), key=lambda item: item[1])[0]
        return self.first_id[1] if self.first_id else None


def _min(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a if a[0] <= b[0] else b


def _first_extra(extra: list[dict[str, str]], key: str) -> str | None:
    for item in extra:
        if item["key"].lower() == key:
            return item["value"]
    return None


class _ScopeTracker:
    """The calls of one server, session and PBX epoch (Rule 8): ids never cross scopes."""

    def __init__(
        self,
        on_call_end: Callable[[dict[str, Any]], None] | None,
        scope: tuple[str | None, str | None, int],
    ) -> None:
        self.scope = scope
        self._uf = UnionFind()
        self._states: dict[str, _CallState] = {}
        self._channels: dict[str, ChannelFacts] = {}
        self._originated: dict[str, list[tuple[int, str, str | None, datetime | None]]] = {}
        self._local_ones: dict[str, str] = {}
        # AMI 1.x (Rule 5): which Uniqueid bears each channel name now (Rename moves it)
        self._names: dict[str, str] = {}
        self._bridges: dict[str, str] = {}
        # bridge-only events (BridgeCreate) that came before any channel of their bridge
        self._pending: dict[str, list[tuple[dict[str, Any], str | None, int, Any]]] = {}
        self._on_call_end = on_call_end

    def feed_row(self, row: dict[str, Any], pos: int) -> str | None:
        extra: list[dict[str, str]] = row.get("extra") or []
        event = row.get("event")
        if event == "Dial":
            sub = _first_extra(extra, "subevent")
            if sub is not None:
                event = "Dial" + sub.title()
        time = row.get("timestamp") or row.get("received_at")
        ids = [row[c] for c in _WIDE_ID_COLUMNS if row.get(c) is not None]
        ids += [i["value"] for i in extra if i["key"].lower() in LINK_KEYS]
        ids = [i for i in ids if i not in PLACEHOLDER_IDS]
        uid = row.get("Uniqueid")
        if uid is None:
            uid = _first_extra(extra, "uniqueid")
        if uid in PLACEHOLDER_IDS:
            uid = None

        channel = row.get("Channel")
        if not ids:
            # Rule 5 (AMI 1.x): a masquerade, or a channel name without a Uniqueid
            if event == "Masquerade":
                names = (_first_extra(extra, "original"), _first_extra(extra, "clone"))
                ids = [self._names[n] for n in names if n is not None and n in self._names]
            elif channel is not None and channel in self._names:
                ids = [self._names[channel]]
        if uid is not None:
            if channel is not None:
                self._names[channel] = uid
            newname = _first_extra(extra, "newname")
            if newname is not None:
                self._names[newname] = uid

        uf = self._uf
        for i in ids:
            uf.add(i)
        if uid is not None and uid not in self._channels:
            self._new_channel(uid, row.get("Channel"), pos, time, event)
        root: str | None = None
        if ids:
            root = uf.find(ids[0])
            for other in ids[1:]:
                root = self._union(root, other)
            bridge = row.get("BridgeUniqueid")
            if bridge is not None and bridge not in self._bridges:
                self._bridges[bridge] = ids[0]
                for early in self._pending.pop(bridge, ()):
                    state = self._states.setdefault(root, _CallState())
                    self._call_event(state, early[0], early[1], early[2], early[3], [])
        elif row.get("BridgeUniqueid") in self._bridges:
            root = uf.find(self._bridges[row["BridgeUniqueid"]])
        elif row.get("BridgeUniqueid") is not None:
            self._pending.setdefault(row["BridgeUniqueid"], []).append((row, event, pos, time))
        if root is None:
            return None
        if uid is not None:
            self._channel_event(self._channels[uid], row, event, pos, time)
        elif event == "DialEnd" and row.get("DestUniqueid") not in (None, *PLACEHOLDER_IDS):
            self._originated.setdefault(row["DestUniqueid"], []).append(
                (pos, row.get("DialStatus") or "", row.get("DestChannel"), time)
            )
        state = self._states.setdefault(root, _CallState())
        self._call_event(state, row, event, pos, time, ids)
        if event == "Hangup" and self._on_call_end is not None and not self._live(root):
            self._on_call_end(self._summary(root))
        return state.call_id()

    def _union(self, root: str, other: str) -> str:
        kept, absorbed = self._uf.union(root, other)
        if kept != absorbed and absorbed in self._states:
            gone = self._states.pop(absorbed)
            self._states.setdefault(kept, _CallState()).merge(gone)
        return kept

    def _new_channel(
        self, uid: str, channel: str | None, pos: int, time: datetime | None, event: str | None
    ) -> None:
        self._channels[uid] = ChannelFacts(
            uniqueid=uid, first_pos=pos, first_time=time, created_seen=event == "Newchannel"
        )
        local = local_pair_key(channel)
        if local is not None:
            prefix, half = local
            if half == 1:
                self._local_ones[prefix] = uid
            elif prefix in self._local_ones:
                self._union(self._uf.find(uid), self._local_ones[prefix])

    def _channel_event(
        self, f: ChannelFacts, row: dict[str, Any], event: str | None, pos: int, time: Any
    ) -> None:
        if f.channel is None and row.get("Channel") is not None:
            f.channel = row["Channel"]
        if f.linkedid is None and row.get("Linkedid") is not None:
            f.linkedid = row["Linkedid"]
        if (row.get("ChannelState") == "6" or row.get("ChannelStateDesc") == "Up") and (
            time is not None and (f.up_time is None or time < f.up_time)
        ):
            f.up_time = time
        if event == "Hangup" and f.hangup_pos is None:
            f.hangup_pos, f.hangup_time = pos, time
            f.cause, f.cause_txt = row.get("Cause"), row.get("Cause-txt")
        if event == "Newchannel":
            f.created_seen = True
        if event == "HangupRequest" and f.request_pos is None:
            f.request_pos = pos
        num, name, exten = row.get("CallerIDNum"), row.get("CallerIDName"), row.get("Exten")
        if f.caller_num is None and num is not None and num not in _BAD_CID:
            f.caller_num = num
        if f.caller_name is None and name is not None and name not in _BAD_CID:
            f.caller_name = name
        if f.exten is None and exten is not None and exten not in ("", "s", "h"):
            f.exten = exten
        if event == "DialEnd":
            f.dials.append((pos, row.get("DialStatus") or "", row.get("DestChannel"), time))

    @staticmethod
    def _call_event(
        s: _CallState,
        row: dict[str, Any],
        event: str | None,
        pos: int,
        time: datetime | None,
        ids: list[str],
    ) -> None:
        s.n_events += 1
        if time is not None:
            s.first_time = _min(s.first_time, (pos, time))
            s.last_time = time if s.last_time is None else max(s.last_time, time)
        lid = row.get("Linkedid")
        if lid is not None and lid not in s.linkedids:
            s.linkedids[lid] = pos
        if ids:
            s.first_id = _min(s.first_id, (pos, ids[0]))
        if event in ("BlindTransfer", "AttendedTransfer"):
            s.transfers += 1
        if row.get("Queue") is not None:
            s.queue = _min(s.queue, (pos, row["Queue"]))
        if event == "QueueCallerJoin":
            s.queue_join = _min(s.queue_join, (pos, time))
        elif event == "AgentConnect":
            s.queue_connect = _min(s.queue_connect, (pos, time))
        elif event in ("QueueCallerLeave", "QueueCallerAbandon"):
            s.queue_leave = _min(s.queue_leave, (pos, time))

    # -- reading ---------------------------------------------------------------------------
    def _members(self) -> dict[str, list[ChannelFacts]]:
        members: dict[str, list[ChannelFacts]] = {}
        for uid, facts in self._channels.items():
            root = self._uf.find(uid)
            if root in self._states:
                members.setdefault(root, []).append(facts)
        return members

    def _facts(self, facts: ChannelFacts) -> ChannelFacts:
        extra = self._originated.get(facts.uniqueid)
        if not extra:
            return facts
        merged = ChannelFacts(**{**facts.__dict__, "dials": sorted(facts.dials + extra)})
        return merged

    def _summary(self, root: str, members: list[ChannelFacts] | None = None) -> dict[str, Any]:
        s = self._states[root]
        if members is None:
            members = [f for u, f in self._channels.items() if self._uf.find(u) == root]
        call = CallFacts(
            call_id=s.call_id() or root,
            n_events=s.n_events,
            first_time=s.first_time[1] if s.first_time else None,
            last_time=s.last_time,
            linkedids=[lid for lid, _ in sorted(s.linkedids.items(), key=lambda kv: kv[1])],
            transfers=s.transfers,
            queue=s.queue[1] if s.queue else None,
            queue_join=s.queue_join[1] if s.queue_join else None,
            queue_connect=s.queue_connect[1] if s.queue_connect else None,
            queue_leave=s.queue_leave[1] if s.queue_leave else None,
            server=self.scope[0],
            session=self.scope[1],
            epoch=self.scope[2],
        )
        return summarize_call(call, [self._facts(f) for f in members])

    def _live(self, root: str) -> bool:
        return any(
            f.hangup_pos is None for u, f in self._channels.items() if self._uf.find(u) == root
        )

    def summaries(self) -> list[tuple[int, dict[str, Any]]]:
        """``(first position, summary)`` per call."""
        members = self._members()
        out = []
        for root, state in self._states.items():
            first = (state.first_id or (0, ""))[0]
            out.append((first, self._summary(root, members.get(root, []))))
        return out

    def call_of(self, channel_id: str) -> str | None:
        """The call id a Uniqueid (or Linkedid) belongs to, if known."""
        if channel_id not in self._uf.parent:
            return None
        root = self._uf.find(channel_id)
        state = self._states.get(root)
        return state.call_id() if state else None

    def active(self) -> list[str]:
        live = {self._uf.find(u) for u, f in self._channels.items() if f.hangup_pos is None}
        return [s.call_id() or r for r, s in self._states.items() if r in live]

    def forget(self, call_id: str) -> None:
        for root, state in list(self._states.items()):
            if state.call_id() == call_id:
                del self._states[root]
                for uid in [u for u in self._channels if self._uf.find(u) == root]:
                    del self._channels[uid]
                    self._originated.pop(uid, None)


class CallTracker:
    """Group live AMI messages into calls, with the same rules as :func:`calls`.

    Calls never group across a ``server``, a recording ``session`` or a PBX restart
    (Rule 8 of :mod:`._rules`): each gets its own id space, and a restart is detected
    from the stream itself (:class:`._rules.EpochRule`).

    Parameters
    ----------
    on_call_end
        Optional callback ``f(summary_dict)`` run when the last channel of a call hangs
        up (late events may still follow; they update the call).

    Examples
    --------
    >>> from amikit.protocol import Parser
    >>> tracker = CallTracker()
    >>> for message in Parser().feed(data):  # doctest: +SKIP
    ...     call_id = tracker.feed(message)
    >>> tracker.calls()  # doctest: +SKIP
    """

    def __init__(self, on_call_end: Callable[[dict[str, Any]], None] | None = None) -> None:
        self._on_call_end = on_call_end
        self._epochs: dict[tuple[str | None, str | None], EpochRule] = {}
        self._scopes: dict[tuple[str | None, str | None, int], _ScopeTracker] = {}
        self._pos = -1

    # -- feeding ---------------------------------------------------------------------------
    def feed(self, message: Message) -> str | None:
        """Take one message; returns the id of the call it belongs to (or ``None``)."""
        return self.feed_row(message_row(message))

    def feed_all(self, messages: Iterable[Message]) -> None:
        """Take many messages in arrival order."""
        for message in messages:
            self.feed(message)

    def feed_row(self, row: dict[str, Any]) -> str | None:
        """Take one message already in the recording row layout."""
        self._pos += 1
        where = (row.get("server"), row.get("session"))
        rule = self._epochs.get(where)
        if rule is None:
            rule = self._epochs[where] = EpochRule()
        time = row.get("timestamp") or row.get("received_at")
        extra: list[dict[str, str]] = row.get("extra") or []
        uid = row.get("Uniqueid")
        if uid is None:
            uid = _first_extra(extra, "uniqueid")
        date, clock = _first_extra(extra, "corestartupdate"), _first_extra(extra, "corestartuptime")
        epoch = rule.feed(
            kind=row.get("kind"),
            event=row.get("event"),
            connection=row.get("connection"),
            time=time.timestamp() if time is not None else None,
            uniqueid=uid,
            uptime=_first_extra(extra, "uptime"),
            startup=f"{date} {clock}" if date is not None and clock is not None else None,
        )
        key = (*where, epoch)
        scope = self._scopes.get(key)
        if scope is None:
            scope = self._scopes[key] = _ScopeTracker(self._on_call_end, key)
        return scope.feed_row(row, self._pos)

    # -- reading ---------------------------------------------------------------------------
    def summaries(self) -> list[dict[str, Any]]:
        """One dict per call (the columns of :func:`calls`), in order of first event."""
        pairs = [pair for scope in self._scopes.values() for pair in scope.summaries()]
        return [summary for _, summary in sorted(pairs, key=lambda pair: pair[0])]

    def calls(self) -> pl.DataFrame:
        """The calls so far as a polars frame, exactly like :func:`calls` would give."""
        from ._calls import summaries_frame

        return summaries_frame(self.summaries())

    def call_of(self, channel_id: str) -> str | None:
        """The call id a Uniqueid (or Linkedid) belongs to, if known (latest scope first)."""
        for scope in reversed(self._scopes.values()):
            found = scope.call_of(channel_id)
            if found is not None:
                return found
        return None

    @property
    def active(self) -> list[str]:
        """Ids of calls with at least one channel not yet hung up."""
        return [call_id for scope in self._scopes.values() for call_id in scope.active()]

    def __len__(self) -> int:
        return sum(len(scope._states) for scope in self._scopes.values())

    def forget(self, call_id: str) -> None:
        """Drop a call's state (e.g. a finished call already reported)."""
        for scope in self._scopes.values():
            scope.forget(call_id)

    def __repr__(self) -> str:
        return f"<CallTracker calls={len(self)} active={len(self.active)}>"
