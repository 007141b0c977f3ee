"""One simulated call: a template instance with identities, timing and live channels.

Strategy
--------
A :class:`Call` is one live instance of a :class:`~amikit.sim._templates.CompiledTemplate`.
It owns

* its identities, allocated lazily the first time a slot is rendered, from scheduler-wide
  counters exactly as Asterisk does (``Uniqueid`` = ``<epoch at creation>.<global counter>``,
  Local channel sequence = global counter in 8 hex digits, bridge ids = random UUIDs);
  ``Linkedid`` is a Uniqueid slot, so the real Linkedid behaviour (inheritance, and the change
  on attended transfer and pickup) carries over unchanged;
* its own timing: every gap of the template longer than a blink (ringing, talk, hold, prompts)
  is stretched or shrunk by a factor drawn from the call's own ``random.Random``; CDR dates and
  durations are mapped through the same time warp so they stay consistent with the events;
* the live channel model (which channels exist, their latest snapshot, application, bridge,
  pending dials), updated as events are emitted. ``CoreShowChannels`` and ``Status`` read it,
  and :meth:`Call.hang_up` uses it to end the call early with the events Asterisk emits for a
  torn-down call: ``SoftHangupRequest`` on the requested channel, ``HangupRequest`` on the
  others, ``DialEnd`` ``CANCEL`` for a dial still ringing, ``BridgeLeave`` before ``Hangup``,
  ``BridgeDestroy`` once a bridge is empty.

What a call emits is a list of :class:`RenderedEvent` (time, bytes, name, privilege); the
:class:`~amikit.sim._scheduler.CallScheduler` merges the calls' events in time order.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..protocol import encode_message
from ..protocol.fields import BRIDGE_SNAPSHOT, CHANNEL_SNAPSHOT
from ._templates import SLOT, SLOT_RE, CompiledEvent, CompiledTemplate, pure_slot

if TYPE_CHECKING:
    from ._scheduler import CallScheduler

__all__ = ["CAUSE_TEXT", "Call", "Channel", "RenderedEvent"]

_SMALL_GAP = 0.2  # seconds: gaps below this are processing time, not a phase of the call

#: Snapshot fields of a channel and of a bridge, in Asterisk's emission order.
SNAPSHOT_KEYS = CHANNEL_SNAPSHOT
BRIDGE_KEYS = BRIDGE_SNAPSHOT

#: Hangup cause -> ``Cause-txt``, for the causes a simulated call can end with.
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
class RenderedEvent:
    """One event of a call, rendered: when it is due, its bytes, its name and privilege."""

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
        scheduler: CallScheduler,
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
        self.scheduler = scheduler
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
            value = f"{int(now)}.{self.scheduler.next_uniqueid()}"
        elif head == "L":
            value = f"{self.scheduler.next_local():08x}"
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
            return str(int(self.scheduler.start_time))
        if token.startswith("C"):
            return _fmt_date(self.warp(float(token[1:])))
        return ""

    def render_value(self, value: str, now: float) -> str:
        if SLOT not in value:
            return value
        return SLOT_RE.sub(lambda m: self.slot(m.group(1), now), value)

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
                self.scheduler.forget_channel(ch.name)
            return
        ch = self.channels.get(slot)
        if ch is None:
            if slot in self.gone:
                return
            chan_name = self.render_value(event.value("Channel") or "", now)
            ch = Channel(slot=slot, name=chan_name, created=now, snapshot=event)
            self.channels[slot] = ch
            self.created_names[chan_name] = slot
            self.scheduler.remember_channel(chan_name, self, slot)
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
        scheduler = self.scheduler
        name = event.name
        queue = event.value("Queue") or ""
        if name == "QueueMemberStatus":
            fields = dict(self.render_pairs(event.pairs, now))
            scheduler.queue_members[(queue, fields.get("Interface", ""))] = fields
            return
        stats = scheduler.queue_stats.setdefault(
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
    def pop_due(self, until: float, out: list[RenderedEvent]) -> None:
        """Append every event of this call due at or before ``until`` to ``out``."""
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
                out.append(RenderedEvent(when, encode_message(pairs), pairs[0][1], pairs[1][1]))
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
                out.append(RenderedEvent(t, encode_message(pairs), event.name, event.privilege))
                continue
            out.append(RenderedEvent(t, self.render(event, t), event.name, event.privilege))
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
            if not self.scheduler.timestamps:
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
            self.scheduler.forget_channel(ch.name)
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
            uid = pure_slot(event.value("UniqueID") or "")
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
