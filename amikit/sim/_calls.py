"""The call engine of the simulated PBX: pure, deterministic, no sockets and no clock.

Strategy
--------
A *template* (see :mod:`amikit.sim._extract`) is one real Asterisk 22 call with its identities
replaced by slots. :class:`CompiledTemplate` turns each event into a list of byte chunks and
slot tokens, so rendering an event is one ``b"".join`` (the flood benchmark needs tens of
thousands of events a second from one core).

A :class:`Call` is one live instance of a template. It owns

* its identities, allocated lazily the first time a slot is rendered, from engine-wide counters
  exactly as Asterisk does (``Uniqueid`` = ``<epoch at creation>.<global counter>``, Local
  channel sequence = global counter in 8 hex digits, bridge ids = random UUIDs); ``Linkedid``
  is a Uniqueid slot, so the real Linkedid behaviour (inheritance, and the change on attended
  transfer and pickup) carries over unchanged;
* its own timing: every gap of the template longer than a blink (ringing, talk, hold, prompts)
  is stretched or shrunk by a factor drawn from the call's own ``random.Random``; CDR dates and
  durations are mapped through the same time warp so they stay consistent with the events;
* the live channel model (which channels exist, their latest snapshot, application, bridge,
  pending dials), updated as events are emitted. ``CoreShowChannels`` and ``Status`` read it,
  and :meth:`Call.hang_up` uses it to end the call early with the events Asterisk emits for a
  torn-down call: ``SoftHangupRequest`` on the requested channel, ``HangupRequest`` on the
  others, ``DialEnd`` ``CANCEL`` for a dial still ringing, ``BridgeLeave`` before ``Hangup``,
  ``BridgeDestroy`` once a bridge is empty.

:class:`Engine` schedules calls (background arrivals as a Poisson process with a weighted mix,
plus calls started by ``Originate``) and hands out due frames in time order.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from typing import Any

from ..protocol import encode_message
from ..protocol.fields import BRIDGE_SNAPSHOT, CHANNEL_SNAPSHOT

__all__ = [
    "Call",
    "Channel",
    "CompiledEvent",
    "CompiledTemplate",
    "Engine",
    "Frame",
    "load_templates",
]

_SLOT = "\x00"
_SLOT_RE = re.compile("\x00([^\x00]*)\x00")
_SMALL_GAP = 0.2  # seconds: gaps below this are processing time, not a phase of the call
_CRLF = b"\r\n"

#: Snapshot fields of a channel and of a bridge, in Asterisk's emission order.
SNAPSHOT_KEYS = CHANNEL_SNAPSHOT
BRIDGE_KEYS = BRIDGE_SNAPSHOT

CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}


@lru_cache(maxsize=1)
def load_templates() -> dict[str, Any]:
    """The templates shipped with the package (``amikit/sim/scenarios.json``)."""
    text = resources.files("amikit.sim").joinpath("scenarios.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=8)
def compiled_templates(cdr: bool, cel: bool, timestamps: bool) -> dict[str, CompiledTemplate]:
    """Every shipped template compiled once per switch setting (they are read-only)."""
    return {
        kind: CompiledTemplate(kind, data, cdr=cdr, cel=cel, timestamps=timestamps)
        for kind, data in load_templates().items()
    }


def _tokens(value: str) -> list[str | tuple[str]]:
    """Split a template value into literal strings and ``(slot,)`` tuples."""
    parts: list[str | tuple[str]] = []
    pos = 0
    for m in _SLOT_RE.finditer(value):
        if m.start() > pos:
            parts.append(value[pos : m.start()])
        parts.append((m.group(1),))
        pos = m.end()
    if pos < len(value):
        parts.append(value[pos:])
    return parts


def _pure_slot(value: str) -> str | None:
    m = _SLOT_RE.fullmatch(value)
    return m.group(1) if m else None


@dataclass(slots=True)
class CompiledEvent:
    """One template event, ready to render."""

    index: int
    full_index: int  # position in the unfiltered template (before dropping Cdr/CEL)
    offset: float
    name: str
    privilege: str
    pairs: list[tuple[str, str]]
    chunks: list[bytes | str]
    channel_slot: str | None  # the U-slot of the (unprefixed) channel snapshot
    dest_slot: str | None  # the U-slot of the Dest snapshot (dial events)
    originate: int | None  # OriginateResponse: which originate of the template
    cdr: bool
    cel: bool

    fields: dict[str, str] = field(default_factory=dict)  # first value of each key

    def value(self, key: str) -> str | None:
        return self.fields.get(key)


def _first_values(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _compile_chunks(pairs: Sequence[tuple[str, str]]) -> list[bytes | str]:
    chunks: list[bytes | str] = []
    literal: list[str] = []
    for key, value in pairs:
        literal.append(f"{key}: ")
        for part in _tokens(value):
            if isinstance(part, tuple):
                chunks.append("".join(literal).encode())
                literal = []
                chunks.append(part[0])
            else:
                literal.append(part)
        literal.append("\r\n")
    literal.append("\r\n")
    chunks.append("".join(literal).encode())
    return [c for c in chunks if c != b""]


class CompiledTemplate:
    """A template compiled for fast rendering (see the module docstring)."""

    def __init__(
        self, kind: str, data: dict[str, Any], *, cdr: bool, cel: bool, timestamps: bool = True
    ) -> None:
        self.kind = kind
        self.originates = int(data.get("originates", 1))
        self.callers = int(data.get("callers", 1))
        events: list[CompiledEvent] = []
        self.all_offsets = [float(offset) for offset, _ in data["events"]]
        for full_index, (offset, raw_pairs) in enumerate(data["events"]):
            pairs = [(k, v) for k, v in raw_pairs if k != "Timestamp"]
            if timestamps:
                # manager.conf timestampevents = yes: right after Privilege (some captures
                # were taken without it; one PBX has one setting)
                at = 2 if len(pairs) > 1 and pairs[1][0] == "Privilege" else 1
                pairs.insert(at, ("Timestamp", f"{_SLOT}T{_SLOT}"))
            name = pairs[0][1]
            if name == "Cdr" and not cdr:
                continue
            if name == "CEL" and not cel:
                continue
            d = dict(pairs)
            uid = _pure_slot(d.get("Uniqueid", "")) if "Uniqueid" in d else None
            dest = _pure_slot(d.get("DestUniqueid", "")) if "DestUniqueid" in d else None
            origin = None
            if name == "OriginateResponse":
                slot = _pure_slot(d.get("ActionID", ""))
                origin = int(slot[1:]) if slot and slot.startswith("A") else 0
                uid = None  # OriginateResponse is about the call, not a snapshot
            events.append(
                CompiledEvent(
                    index=len(events),
                    full_index=full_index,
                    offset=float(offset),
                    name=name,
                    privilege=d.get("Privilege", ""),
                    pairs=pairs,
                    chunks=_compile_chunks(pairs),
                    channel_slot=uid,
                    dest_slot=dest,
                    originate=origin,
                    cdr=name == "Cdr",
                    cel=name == "CEL",
                    fields=_first_values(pairs),
                )
            )
        self.events = events
        self.offsets = [e.offset for e in events]

    def first_index(self, predicate: Callable[[CompiledEvent], bool]) -> int:
        """Index of the first event matching ``predicate`` (len(events) if none)."""
        for e in self.events:
            if predicate(e):
                return e.index
        return len(self.events)


@dataclass(slots=True)
class Channel:
    """A live simulated channel: the latest snapshot and what it is doing."""

    slot: str
    name: str
    created: float
    snapshot: CompiledEvent
    application: tuple[str, str] = ("", "")
    bridge: CompiledEvent | None = None
    queue: tuple[str, float] | None = None  # (queue name, joined at) while waiting


@dataclass(slots=True, order=True)
class Frame:
    """One rendered event: when it is due, its bytes, its name."""

    time: float
    data: bytes = field(compare=False)
    name: str = field(compare=False)
    privilege: str = field(compare=False, default="")


def _uuid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from ``rng``."""
    r = rng.getrandbits(128)
    h = f"{r:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[r & 3]}{h[17:20]}-{h[20:32]}"


def _fmt_tv(t: float) -> str:
    dt = datetime.fromtimestamp(t, timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def _fmt_date(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class Call:
    """One simulated call: a template instance with identities, timing and live channels."""

    def __init__(
        self,
        engine: Engine,
        template: CompiledTemplate,
        start: float,
        *,
        number: int,
        rng: random.Random,
        callers: Sequence[tuple[str, str]],
        action_ids: Sequence[str | None],
        stop_index: int | None = None,
        hangup_at: float | None = None,
        scenario: str | None = None,
    ) -> None:
        self.engine = engine
        self.template = template
        self.scenario = scenario or template.kind
        self.number = number
        self.start = start
        self.rng = rng
        self.callers = list(callers)
        self.action_ids = list(action_ids)
        self.slots: dict[str, str] = {}
        self.encoded: dict[str, bytes] = {}  # slots already rendered, as bytes
        self.uuid_seed = rng.getrandbits(64)
        self.channels: dict[str, Channel] = {}
        self.gone: set[str] = set()
        self.created_names: dict[str, str] = {}  # channel name -> slot
        self.answered: set[str] = set()  # slots that reached state Up
        self.heap_key = math.inf
        self.last_time = start
        self.dials: dict[str, tuple[str | None, CompiledEvent]] = {}  # dest slot -> caller
        self.bridges: dict[str, int] = {}  # rendered bridge id -> members
        self.index = 0
        self.stop_index = len(template.events) if stop_index is None else stop_index
        self.pending: list[tuple[float, list[tuple[str, str]]]] = []  # synthesized frames
        self.finished = False
        self.on_originate: Callable[[Call, int, bool], None] | None = None
        # the time warp: every long gap of the full template (Cdr/CEL included, so that
        # switching them on does not change the timing) stretched by its own factor
        offsets = template.all_offsets
        warped: list[float] = []
        previous_real = 0.0
        now = 0.0
        for real in offsets:
            gap = real - previous_real
            if gap > _SMALL_GAP:
                gap *= rng.uniform(0.6, 1.6)
            now += max(gap, 0.0)
            warped.append(now)
            previous_real = real
        self.real = offsets
        self.warped_full = warped
        self.warped = [warped[e.full_index] for e in template.events]
        self.hangup_at = None
        if hangup_at is not None:
            self.hangup_at = start + hangup_at
        # what the Originate action asked for (Context, Exten): shown in its OriginateResponse
        self.originate_fields: dict[str, str] = {}
        # events dropped by this call: OriginateResponse of a sync originate
        self.suppress_originate: set[int] = set()

    # -- time -----------------------------------------------------------------------------
    def due(self) -> float:
        """When the next event of this call is due (inf when done)."""
        nxt = math.inf
        if self.pending:
            nxt = self.pending[0][0]
        if self.index < self.stop_index:
            nxt = min(nxt, self.start + self.warped[self.index])
        if self.hangup_at is not None and self.channels:
            nxt = min(nxt, max(self.hangup_at, self.last_time))
        return nxt

    def warp(self, real_offset: float) -> float:
        """Map a real (template) offset to this call's absolute time."""
        real, warped = self.real, self.warped_full
        if not real or real_offset <= real[0]:
            return self.start + real_offset
        if real_offset >= real[-1]:
            return self.start + warped[-1] + (real_offset - real[-1])
        lo, hi = 0, len(real) - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if real[mid] <= real_offset:
                lo = mid
            else:
                hi = mid
        span = real[hi] - real[lo]
        frac = (real_offset - real[lo]) / span if span else 0.0
        return self.start + warped[lo] + frac * (warped[hi] - warped[lo])

    # -- slots ----------------------------------------------------------------------------
    def slot(self, token: str, now: float) -> str:
        value = self.slots.get(token)
        if value is not None:
            return value
        if token in ("DUR", "BILL"):
            return "0"  # computed from the record's dates in _render_cdr
        head = token[0]
        if head == "U":
            value = f"{int(now)}.{self.engine.next_uniqueid()}"
        elif head == "L":
            value = f"{self.engine.next_local():08x}"
        elif head == "B":
            # derived from the call's seed and the slot, not drawn in render order: the same
            # bridge gets the same id whichever event mentions it first
            value = _uuid(random.Random(f"{self.uuid_seed}/{token}"))
        elif head == "N":
            k = int(token[1:])
            value = self.callers[k][0] if k < len(self.callers) else "<unknown>"
        elif head == "M":
            k = int(token[1:])
            value = self.callers[k][1] if k < len(self.callers) else "<unknown>"
        elif head == "A":
            k = int(token[1:])
            given = self.action_ids[k] if k < len(self.action_ids) else None
            value = given if given is not None else f"sim-{self.number:05d}-{k}"
        else:
            return self._time_slot(token, now)
        self.slots[token] = value
        return value

    def _time_slot(self, token: str, now: float) -> str:
        if token == "T":
            return f"{now:.6f}"
        if token == "V":
            return _fmt_tv(now)
        if token == "E":
            return _fmt_date(now)
        if token == "S":
            return str(int(now))
        if token == "START":
            return str(int(self.engine.start_time))
        if token.startswith("C"):
            return _fmt_date(self.warp(float(token[1:])))
        return ""

    def render_value(self, value: str, now: float) -> str:
        if _SLOT not in value:
            return value
        return _SLOT_RE.sub(lambda m: self.slot(m.group(1), now), value)

    def render_pairs(self, pairs: Iterable[tuple[str, str]], now: float) -> list[tuple[str, str]]:
        return [(k, self.render_value(v, now)) for k, v in pairs]

    def render(self, event: CompiledEvent, now: float) -> bytes:
        if event.cdr:
            return encode_message(self._render_cdr(event, now))
        out = []
        cache = self.encoded
        for chunk in event.chunks:
            if isinstance(chunk, bytes):
                out.append(chunk)
                continue
            value = cache.get(chunk)
            if value is None:
                text = self.slot(chunk, now)
                value = text.encode()
                if chunk in self.slots:  # a fixed identity, not a time: keep it encoded
                    cache[chunk] = value
            out.append(value)
        return b"".join(out)

    def _render_cdr(self, event: CompiledEvent, now: float) -> list[tuple[str, str]]:
        pairs = self.render_pairs(event.pairs, now)
        times: dict[str, int] = {}
        for k, v in pairs:
            if k in ("StartTime", "AnswerTime", "EndTime") and v:
                dt = datetime.strptime(v, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
                times[k] = int(dt.timestamp())
        start = times.get("StartTime")
        end = times.get("EndTime", start)
        answer = times.get("AnswerTime")
        out = []
        for k, v in pairs:
            if k == "Duration":
                v = str(max(0, (end or 0) - (start or 0)))
            elif k == "BillableSeconds":
                v = str(max(0, (end or 0) - answer)) if answer is not None else "0"
            out.append((k, v))
        return out

    # -- the live channel model ------------------------------------------------------------
    def _track(self, event: CompiledEvent, now: float) -> None:
        name = event.name
        slot = event.channel_slot
        if name.startswith(("Queue", "Agent")):
            self._track_queue(event, now)
        if slot is None:
            return
        if name == "Hangup":
            ch = self.channels.pop(slot, None)
            self.gone.add(slot)
            if ch is not None:
                self.engine.forget_channel(ch.name)
            return
        ch = self.channels.get(slot)
        if ch is None:
            if slot in self.gone:
                return
            chan_name = self.render_value(event.value("Channel") or "", now)
            ch = Channel(slot=slot, name=chan_name, created=now, snapshot=event)
            self.channels[slot] = ch
            self.created_names[chan_name] = slot
            self.engine.remember_channel(chan_name, self, slot)
        ch.snapshot = event
        if event.value("ChannelState") == "6":
            self.answered.add(slot)
        if name == "Newexten":
            ch.application = (
                self.render_value(event.value("Application") or "", now),
                self.render_value(event.value("AppData") or "", now),
            )
        elif name == "BridgeEnter":
            ch.bridge = event
            bid = self.render_value(event.value("BridgeUniqueid") or "", now)
            self.bridges[bid] = self.bridges.get(bid, 0) + 1
        elif name == "BridgeLeave":
            ch.bridge = None
            bid = self.render_value(event.value("BridgeUniqueid") or "", now)
            self.bridges[bid] = max(0, self.bridges.get(bid, 1) - 1)
        elif name == "DialBegin" and event.dest_slot:
            self.dials[event.dest_slot] = (slot, event)
        elif name == "DialEnd" and event.dest_slot:
            self.dials.pop(event.dest_slot, None)

    def _track_queue(self, event: CompiledEvent, now: float) -> None:
        engine = self.engine
        name = event.name
        queue = event.value("Queue") or ""
        if name == "QueueMemberStatus":
            fields = dict(self.render_pairs(event.pairs, now))
            engine.queue_members[(queue, fields.get("Interface", ""))] = fields
            return
        stats = engine.queue_stats.setdefault(
            queue, {"completed": 0, "abandoned": 0, "holdtime": 0, "talktime": 0}
        )
        slot = event.channel_slot
        ch = self.channels.get(slot) if slot else None
        if name == "QueueCallerJoin" and ch is not None:
            ch.queue = (queue, now)
        elif name in ("QueueCallerLeave", "QueueCallerAbandon") and ch is not None:
            ch.queue = None
            if name == "QueueCallerAbandon":
                stats["abandoned"] += 1
        elif name == "AgentConnect":
            stats["completed"] += 1
            try:
                stats["holdtime"] = int(event.value("HoldTime") or 0)
            except ValueError:
                pass
        elif name == "AgentComplete":
            try:
                stats["talktime"] = int(event.value("TalkTime") or 0)
            except ValueError:
                pass

    def snapshot(self, channel: Channel, now: float, prefix: str = "") -> list[tuple[str, str]]:
        """The channel's current snapshot block (optionally with a role prefix)."""
        event = channel.snapshot
        out: list[tuple[str, str]] = []
        base = ""
        if event.name in ("DialBegin", "DialState", "DialEnd") and event.dest_slot == channel.slot:
            base = "Dest"
        for key in SNAPSHOT_KEYS:
            value = event.value(base + key)
            if value is None:
                value = ""
            out.append((prefix + key, self.render_value(value, now)))
        return out

    def bridge_fields(self, channel: Channel, now: float, members: int) -> list[tuple[str, str]]:
        event = channel.bridge
        if event is None:
            return []
        out = []
        for key in BRIDGE_KEYS:
            value = self.render_value(event.value(key) or "", now)
            if key == "BridgeNumChannels":
                value = str(members)
            out.append((key, value))
        return out

    # -- emitting ----------------------------------------------------------------------------
    def pop_due(self, until: float, out: list[Frame]) -> None:
        """Append every frame of this call due at or before ``until`` to ``out``."""
        events = self.template.events
        while True:
            t_template = (
                self.start + self.warped[self.index] if self.index < self.stop_index else math.inf
            )
            t_pending = self.pending[0][0] if self.pending else math.inf
            t_hangup = (
                max(self.hangup_at, self.last_time)
                if self.hangup_at is not None and self.channels
                else math.inf
            )
            t = min(t_template, t_pending, t_hangup)
            if t > until or t == math.inf:
                break
            if t == t_pending:
                when, pairs = self.pending.pop(0)
                out.append(Frame(when, encode_message(pairs), pairs[0][1], pairs[1][1]))
                continue
            if t == t_hangup and t < t_template:
                # the scheduled hangup of the first channel (the caller giving up)
                target = next(iter(self.channels.values()))
                self.hangup_at = None
                self.hang_up(target.slot, 16, t, soft=False)
                continue
            event = events[self.index]
            self.index += 1
            self.last_time = t
            if event.originate is not None:
                if event.originate in self.suppress_originate:
                    if self.on_originate is not None:
                        self.on_originate(self, event.originate, self._originate_ok(event))
                    continue
                if self.on_originate is not None:
                    self.on_originate(self, event.originate, self._originate_ok(event))
            self._track(event, t)
            if event.originate == 0 and (self.originate_fields or self.action_ids == [""]):
                # as the action asked: its Context/Exten; no ActionID line if it had none
                pairs = [
                    (k, self.originate_fields.get(k, v))
                    for k, v in self.render_pairs(event.pairs, t)
                    if not (k == "ActionID" and self.action_ids == [""])
                ]
                out.append(Frame(t, encode_message(pairs), event.name, event.privilege))
                continue
            out.append(Frame(t, self.render(event, t), event.name, event.privilege))
        if (
            self.index >= self.stop_index
            and not self.pending
            and (self.hangup_at is None or not self.channels)
        ):
            self.finished = True

    @staticmethod
    def _originate_ok(event: CompiledEvent) -> bool:
        return event.value("Response") == "Success"

    def _teardown_order(self, target: Channel, now: float) -> list[Channel]:
        """Channels in the order a hangup propagates: breadth-first from ``target`` over the
        Local ``;1``/``;2`` pairing, shared bridges and dial relations; then the rest."""
        chans = list(self.channels.values())

        def bridge_of(ch: Channel) -> str | None:
            if ch.bridge is None:
                return None
            return self.render_value(ch.bridge.value("BridgeUniqueid") or "", now)

        def linked(a: Channel, b: Channel) -> bool:
            if a.name[:-1] == b.name[:-1] and a.name[-2:-1] == ";":
                return True
            ba = bridge_of(a)
            if ba is not None and ba == bridge_of(b):
                return True
            for dest, (caller, _) in self.dials.items():
                if {dest, caller} == {a.slot, b.slot}:
                    return True
            return False

        order = [target]
        queue = [target]
        while queue:
            current = queue.pop(0)
            for ch in chans:
                if ch not in order and linked(current, ch):
                    order.append(ch)
                    queue.append(ch)
        order += [ch for ch in chans if ch not in order]
        return order

    def hang_up(self, slot: str, cause: int, now: float, *, soft: bool = True) -> None:
        """End the call now: the teardown Asterisk emits when ``slot``'s channel is hung up.

        The rest of the template is dropped; the frames are queued as pending (due ``now``).
        """
        if slot not in self.channels:
            return
        self.gone.update(self.channels)
        self.stop_index = self.index
        self.hangup_at = None
        frames: list[list[tuple[str, str]]] = []
        ts = f"{now:.6f}"

        def head(name: str) -> list[tuple[str, str]]:
            if not self.engine.timestamps:
                return [("Event", name), ("Privilege", "call,all")]
            return [("Event", name), ("Privilege", "call,all"), ("Timestamp", ts)]

        target = self.channels[slot]
        frames.append(
            [
                *head("SoftHangupRequest" if soft else "HangupRequest"),
                *self.snapshot(target, now),
                ("Cause", str(cause)),
            ]
        )
        # the Local partner hears of it at once (real capture, AMI Hangup of a Local ;2:
        # SoftHangupRequest ;2, HangupRequest ;1, Hangup ;2, BridgeLeave ;1, Hangup ;1)
        requested = {target.slot}
        for ch in self.channels.values():
            if ch is not target and ch.name[:-1] == target.name[:-1] and ch.name[-2] == ";":
                frames.append([*head("HangupRequest"), *self.snapshot(ch, now), ("Cause", "16")])
                requested.add(ch.slot)
        # dials still ringing are cancelled first
        for dest_slot, (caller_slot, _dial) in list(self.dials.items()):
            dest = self.channels.get(dest_slot)
            caller = self.channels.get(caller_slot) if caller_slot else None
            if dest is None:
                continue
            pairs = head("DialEnd")
            if caller is not None:
                pairs += self.snapshot(caller, now)
            pairs += self.snapshot(dest, now, prefix="Dest")
            pairs.append(("DialStatus", "CANCEL"))
            frames.append(pairs)
        self.dials.clear()
        members = dict(self.bridges)
        order = self._teardown_order(target, now)
        for ch in order:
            if ch.slot not in requested:
                frames.append([*head("HangupRequest"), *self.snapshot(ch, now), ("Cause", "16")])
            if ch.bridge is not None:
                bid = self.render_value(ch.bridge.value("BridgeUniqueid") or "", now)
                members[bid] = max(0, members.get(bid, 1) - 1)
                frames.append(
                    [
                        *head("BridgeLeave"),
                        *self.bridge_fields(ch, now, members[bid]),
                        *self.snapshot(ch, now),
                    ]
                )
                if members[bid] == 0:
                    bridge_pairs = self.bridge_fields(ch, now, 0)
                    frames.append([*head("BridgeDestroy"), *bridge_pairs])
            code = cause if ch is target else 16
            frames.append(
                [
                    *head("Hangup"),
                    *self.snapshot(ch, now),
                    ("Cause", str(code)),
                    ("Cause-txt", CAUSE_TEXT.get(code, "Unknown")),
                ]
            )
        frames += self._early_cdrs(now)
        for ch in order:
            self.engine.forget_channel(ch.name)
        self.channels.clear()
        self.bridges.clear()
        self.pending.extend((now, pairs) for pairs in frames)

    def _early_cdrs(self, now: float) -> list[list[tuple[str, str]]]:
        """The CDR records of a call cut short: the template's records still to come, for the
        channels that existed, ended now (unanswered if the answer was still ahead)."""
        out = []
        created = self.gone
        for event in self.template.events[self.index :]:
            if not event.cdr:
                continue
            uid = _pure_slot(event.value("UniqueID") or "")
            if uid is None or uid not in created:
                continue
            pairs = self._render_cdr(event, now)
            fields = dict(pairs)
            dest = fields.get("DestinationChannel", "")
            if dest and dest not in self.created_names:
                continue  # a record about a channel this call never got to create
            stamp = _fmt_date(now)
            if fields.get("StartTime", "") > stamp:
                continue
            party = self.created_names.get(dest) if dest else uid
            answered = bool(fields.get("AnswerTime")) and party in self.answered
            start = datetime.strptime(fields["StartTime"], "%Y-%m-%d %H:%M:%S")
            end = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
            fixed = []
            for k, v in pairs:
                if k == "Timestamp":
                    v = f"{now:.6f}"
                elif k == "EndTime":
                    v = stamp
                elif k == "AnswerTime" and not answered:
                    v = ""
                elif k == "Duration":
                    v = str(max(0, int((end - start).total_seconds())))
                elif k == "BillableSeconds":
                    if answered:
                        answer = datetime.strptime(fields["AnswerTime"], "%Y-%m-%d %H:%M:%S")
                        v = str(max(0, int((end - answer).total_seconds())))
                    else:
                        v = "0"
                elif k == "Disposition" and not answered:
                    v = "NO ANSWER"
                fixed.append((k, v))
            out.append(fixed)
        return out


@dataclass
class ScenarioSpec:
    """How a named scenario uses a template (see :mod:`amikit.sim._scenarios`)."""

    name: str
    template: str
    # cancel: keep only events before the first event on a channel starting with this
    cut_before_channel: str | None = None
    # cancel: hang the first channel up this many seconds (range) after the start
    hangup_after: tuple[float, float] | None = None


class Engine:
    """Schedules simulated calls and renders their frames in time order (pure, seeded).

    Parameters
    ----------
    seed:
        Seed of the engine's ``random.Random``: same seed, same calls.
    start_time:
        Epoch seconds of the simulated clock's origin (Uniqueids and Timestamps derive from it).
    calls_per_minute:
        Rate of background calls (Poisson arrivals); 0 for none.
    mix:
        Scenario name -> weight for background calls.
    scenarios:
        Scenario name -> :class:`ScenarioSpec`.
    cdr, cel:
        Emit the ``Cdr`` (cdr_manager) / ``CEL`` (cel_manager) events of the templates.
    timestamps:
        ``Timestamp:`` on every event (``timestampevents = yes`` in manager.conf).
    """

    def __init__(
        self,
        *,
        seed: int | None,
        start_time: float,
        calls_per_minute: float,
        mix: dict[str, float],
        scenarios: dict[str, ScenarioSpec],
        cdr: bool = False,
        cel: bool = False,
        timestamps: bool = True,
        callers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.rng = random.Random(seed)
        self.start_time = start_time
        self.calls_per_minute = calls_per_minute
        self.mix = dict(mix)
        self.scenarios = scenarios
        self.cdr = cdr
        self.cel = cel
        self.caller_pool = list(callers) or [("5550100", "Sim caller")]
        self.timestamps = timestamps
        self.templates = compiled_templates(cdr, cel, timestamps)
        self._uniqueid = 0
        self._local = 0
        self._calls = 0
        self.heap: list[tuple[float, int, Call]] = []
        self.live: dict[str, tuple[Call, str]] = {}  # channel name -> (call, slot)
        self.next_arrival = (
            start_time + self.rng.expovariate(calls_per_minute / 60.0)
            if calls_per_minute > 0
            else math.inf
        )
        self.emitted = 0
        self.calls_processed = 0
        self.queue_members: dict[tuple[str, str], dict[str, str]] = {}
        self.queue_stats: dict[str, dict[str, int]] = {}

    def reboot(self, now: float) -> None:
        """A PBX restart: live calls vanish unseen; counters start again from 0."""
        self.heap.clear()
        self.live.clear()
        self._uniqueid = 0
        self._local = 0
        self.calls_processed = 0
        self.queue_members.clear()
        self.queue_stats.clear()
        if self.next_arrival < now:
            self.next_arrival = now

    # identities ---------------------------------------------------------------------------
    def next_uniqueid(self) -> int:
        value = self._uniqueid
        self._uniqueid += 1
        return value

    def next_local(self) -> int:
        value = self._local
        self._local += 1
        return value

    def remember_channel(self, name: str, call: Call, slot: str) -> None:
        self.live[name] = (call, slot)

    def forget_channel(self, name: str) -> None:
        self.live.pop(name, None)

    # calls ----------------------------------------------------------------------------------
    def random_caller(self, rng: random.Random) -> tuple[str, str]:
        return rng.choice(self.caller_pool)

    def start_call(
        self,
        scenario: str,
        at: float,
        *,
        callers: Sequence[tuple[str, str]] | None = None,
        action_ids: Sequence[str | None] = (),
        sync: bool = False,
        on_originate: Callable[[Call, int, bool], None] | None = None,
        originate_fields: dict[str, str] | None = None,
    ) -> Call:
        """Start one call of ``scenario`` at time ``at``."""
        spec = self.scenarios[scenario]
        template = self.templates[spec.template]
        self._calls += 1
        self.calls_processed += 1
        rng = random.Random(self.rng.getrandbits(64))
        chosen = list(callers or [])
        while len(chosen) < template.callers:
            chosen.append(self.random_caller(rng))
        stop = None
        hangup_at = None
        if spec.cut_before_channel:
            prefix = spec.cut_before_channel

            def on_cut(e: CompiledEvent) -> bool:
                return (e.value("Channel") or "").startswith(prefix)

            stop = template.first_index(on_cut)
        if spec.hangup_after:
            hangup_at = rng.uniform(*spec.hangup_after)
        call = Call(
            self,
            template,
            at,
            number=self._calls,
            rng=rng,
            callers=chosen,
            action_ids=action_ids,
            stop_index=stop,
            hangup_at=hangup_at,
            scenario=scenario,
        )
        if sync:
            call.suppress_originate.add(0)
        call.on_originate = on_originate
        call.originate_fields = dict(originate_fields or {})
        self._push(call)
        return call

    def _push(self, call: Call) -> None:
        due = call.due()
        call.heap_key = due
        if due != math.inf:
            heapq.heappush(self.heap, (due, call.number, call))

    def hang_up(self, channel: str, cause: int, now: float) -> bool:
        """Hang up a live channel by name; False if there is no such channel."""
        found = self.live.get(channel)
        if found is None:
            return False
        call, slot = found
        call.hang_up(slot, cause, now)
        self._push(call)
        return True

    def channels(self) -> list[tuple[Call, Channel]]:
        """Live channels in creation order."""
        out = []
        for call, slot in self.live.values():
            ch = call.channels.get(slot)
            if ch is not None:
                out.append((call, ch))
        out.sort(key=lambda item: (item[1].created, item[0].number))
        return out

    def queue_callers(self) -> list[tuple[str, Call, Channel, float]]:
        """Callers waiting in a queue now: (queue, call, channel, joined at)."""
        out = []
        for call, ch in self.channels():
            if ch.queue is not None:
                out.append((ch.queue[0], call, ch, ch.queue[1]))
        out.sort(key=lambda item: item[3])
        return out

    def next_due(self) -> float:
        """When the next frame (or background arrival) is due."""
        return min(self.heap[0][0] if self.heap else math.inf, self.next_arrival)

    def advance(self, until: float) -> list[Frame]:
        """Every frame due at or before ``until``, in time order; background calls start."""
        out: list[Frame] = []
        while True:
            if (
                self.next_arrival <= until
                and self.next_arrival != math.inf
                and (not self.heap or self.next_arrival <= self.heap[0][0])
            ):
                at = self.next_arrival
                names = list(self.mix)
                weights = [self.mix[n] for n in names]
                scenario = self.rng.choices(names, weights)[0]
                self.start_call(scenario, at)
                self.next_arrival = at + self.rng.expovariate(self.calls_per_minute / 60.0)
                continue
            if not self.heap or self.heap[0][0] > until:
                break
            due, _, call = heapq.heappop(self.heap)
            if due != call.heap_key:  # stale entry: the call was re-pushed since
                continue
            limit = min(until, self.next_arrival, self.heap[0][0] if self.heap else math.inf)
            call.pop_due(max(limit, due), out)
            self._push(call)
        self.emitted += len(out)
        return out
