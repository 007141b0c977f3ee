"""The call scheduler of the simulated PBX: pure, deterministic, no sockets and no clock.

Strategy
--------
:class:`CallScheduler` starts calls (background arrivals as a Poisson process with a weighted
mix of scenarios, plus calls started by ``Originate``) and hands out their due events in time
order: a heap of calls keyed by when each one's next event is due, so asking for everything
up to a time costs what is emitted, not what is live. It also holds what is shared between
calls: the Uniqueid and Local channel counters (as in one Asterisk), the live channels by
name (for ``Hangup`` and ``Status``) and the queue state.

The caller owns the clock: :meth:`CallScheduler.advance` takes the simulated time, so a test
can drive the scheduler without sleeping, and the PBX drives it from its clock thread.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Sequence

from ._call import Call, Channel, RenderedEvent
from ._templates import CompiledEvent, ScenarioSpec, compiled_templates

__all__ = ["CallScheduler"]


class CallScheduler:
    """Schedules simulated calls and renders their events in time order (pure, seeded).

    Parameters
    ----------
    seed:
        Seed of the scheduler's ``random.Random``: same seed, same calls.
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
        """When the next event (or background arrival) is due."""
        return min(self.heap[0][0] if self.heap else math.inf, self.next_arrival)

    def advance(self, until: float) -> list[RenderedEvent]:
        """Every event due at or before ``until``, in time order; background calls start."""
        out: list[RenderedEvent] = []
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
