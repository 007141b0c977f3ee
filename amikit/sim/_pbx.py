"""The simulated PBX: simulated calls served over AMI on 127.0.0.1.

Strategy
--------
:class:`PBX` composes an :class:`~amikit.sim.AMIServer` (sessions, login, read classes, event
masks, filters, the generic actions) with the pure
:class:`~amikit.sim._scheduler.CallScheduler`. A daemon thread (the *clock*) asks the
scheduler for every event due by now and broadcasts it; the server decides per session who
may see it from the event's real ``Privilege:`` classes (``VarSet``/``Newexten`` are
``dialplan``, so a ``read = call`` user never gets them).

The PBX's own actions (``Originate``, ``Hangup``, ``Status``, ``CoreShowChannels``,
``QueueStatus``, ``CoreStatus`` and the ``core show channels`` / ``core show version``
commands) read and change the scheduler under one lock, so what they report is exactly the
set of live simulated channels.

Determinism: the scheduler is seeded; background calls, their timing and their identities
depend only on the seed (and ``start_time``, when given). Actions add calls at the moment they
arrive, so a script that sends the same actions at the same simulated times sees the same
wire output.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .._exceptions import UsageError
from .._privilege import privilege_classes
from ..protocol import Message
from ._builtin_actions import core_status_reply
from ._call import Call, RenderedEvent
from ._scenarios import SCENARIOS, resolve_mix, scenario_for
from ._scheduler import CallScheduler
from ._server import AMIServer, ServerSession, User

__all__ = ["ASTERISK_VERSION", "PBX"]

log = logging.getLogger("amikit.sim.pbx")

ASTERISK_VERSION = "22.10.1"
_VERSION_TEXT = (
    f"Asterisk {ASTERISK_VERSION} (simulated by amikit) built by amikit @ loopback on a "
    "x86_64 running Linux"
)

#: Caller identities of background calls (number, name).
DEFAULT_CALLERS: tuple[tuple[str, str], ...] = (
    ("5550101", "Alice Martin"),
    ("5550102", "Bruno Keller"),
    ("5550103", "Chen Wei"),
    ("5550104", "Dana Novak"),
    ("5550105", "Emeka Obi"),
    ("5550106", "Fatima Haddad"),
    ("5550107", "Gus Lindqvist"),
    ("5550108", "Hana Sato"),
    ("5550109", "Ivan Petrov"),
    ("5550110", "Julia Costa"),
)

# (queue, strategy, [(member name, interface)]) as configured on the captured PBX
QUEUES = (
    (
        "support",
        "rrmemory",
        [
            ("Agent Alice", "Local/401@agents/n"),
            ("Agent Bob", "Local/402@agents/n"),
            ("Agent Carol (never answers)", "Local/403@agents/n"),
        ],
    ),
    ("sales", "ringall", [("Agent Alice", "Local/401@agents/n")]),
)

_CALLERID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')


def _parse_callerid(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    m = _CALLERID.match(text)
    if m:
        return (m.group(2) or "<unknown>", m.group(1).strip() or "<unknown>")
    return (text.strip(), "<unknown>")


def _hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class PBX:
    """A simulated Asterisk 22 PBX serving AMI on 127.0.0.1.

    Parameters
    ----------
    users : list of User, optional
        AMI users (``manager.conf``); default ``[User("admin", "amikit")]``.
    calls_per_minute : float
        Background call rate (Poisson arrivals); 0 for none (only ``Originate``).
    scenarios : dict or list of str, optional
        Background mix: ``{"answered": 5, "busy": 1}`` (weights) or a list of names (equal
        weights). Default: :data:`~amikit.sim._scenarios.DEFAULT_MIX`.
    seed : int, optional
        Same seed, same calls.
    cdr : bool
        Emit ``Cdr`` events (cdr_manager), as a PBX with CDR to AMI does.
    cel : bool
        Emit ``CEL`` events (cel_manager).
    host, port : str, int
        Loopback only; port 0 lets the OS choose (read :attr:`port`).
    speed : float
        Simulated seconds per real second (2.0: calls run twice as fast).
    flood : bool
        Benchmark mode: ignore the clock and emit as fast as one core can.
    start_time : float, optional
        Epoch of the simulated clock at start (default: now). Fix it for byte-identical runs.
    timestamps : bool
        ``Timestamp:`` on every event, as with ``timestampevents = yes`` (default).

    Examples
    --------
    >>> from amikit import AMIClient
    >>> from amikit.sim import PBX
    >>> with PBX(calls_per_minute=30, seed=1) as pbx:
    ...     with AMIClient(pbx.host, pbx.port, "admin", "amikit") as ami:
    ...         print(pbx.host, ami.action("Ping")["Ping"])
    127.0.0.1 Pong
    """

    def __init__(
        self,
        users: list[User] | None = None,
        calls_per_minute: float = 6.0,
        scenarios: dict[str, float] | Sequence[str] | str | None = None,
        seed: int | None = None,
        cdr: bool = False,
        *,
        cel: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        flood: bool = False,
        start_time: float | None = None,
        timestamps: bool = True,
        callers: Sequence[tuple[str, str]] = DEFAULT_CALLERS,
    ) -> None:
        if calls_per_minute < 0:
            raise ValueError("calls_per_minute must be >= 0")
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.server = AMIServer(users, host=host, port=port)
        self.mix = resolve_mix(scenarios)  # type: ignore[arg-type]
        self.seed = seed
        self.cdr = cdr
        self.cel = cel
        self.speed = speed
        self.flood = flood
        self.calls_per_minute = calls_per_minute
        self._start_time = start_time
        self._callers = tuple(callers)
        self.timestamps = timestamps
        self.scheduler: CallScheduler | None = None
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0_mono = 0.0
        self._t0_sim = 0.0
        self._booted_at = 0.0  # simulated time of the last (re)start, for CoreStatus
        self._generation = 0  # +1 per restart: frames of an older run are never sent
        self._flood_now = 0.0
        self.events_sent = 0
        self.errors = 0
        self._after_batch: list[Callable[[], Any]] = []
        self._inflight = 0
        self._inflight_cond = threading.Condition()
        self.calls_started = 0

    @property
    def engine(self) -> CallScheduler | None:
        """The old name of :attr:`scheduler` (it schedules the calls); kept so code
        written against it still runs, with a DeprecationWarning."""
        warnings.warn("PBX.engine is now PBX.scheduler", DeprecationWarning, stacklevel=2)
        return self.scheduler

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def host(self) -> str:
        """The address the PBX listens on (always loopback)."""
        return self.server.host

    @property
    def port(self) -> int:
        """The TCP port (the OS-chosen one after :meth:`start` with ``port=0``)."""
        return self.server.port

    def start(self) -> PBX:
        """Listen, then start the background call traffic; returns self."""
        if self._thread is not None:
            raise UsageError("PBX already started")
        start = time.time() if self._start_time is None else self._start_time
        self.scheduler = CallScheduler(
            seed=self.seed,
            start_time=start,
            calls_per_minute=self.calls_per_minute,
            mix=self.mix,
            scenarios=SCENARIOS,
            cdr=self.cdr,
            cel=self.cel,
            timestamps=self.timestamps,
            callers=self._callers,
        )
        self._t0_mono = time.monotonic()
        self._t0_sim = start
        self._booted_at = start
        self._flood_now = start
        for name, handler, privilege in (
            ("Originate", self._act_originate, "originate"),
            ("Hangup", self._act_hangup, "system,call"),
            ("Status", self._act_status, "system,call,reporting"),
            ("CoreShowChannels", self._act_core_show_channels, "system,reporting"),
            ("QueueStatus", self._act_queue_status, ""),
            ("CoreStatus", self._act_core_status, "system,reporting"),
        ):
            self.server.register_action(name, handler, privilege=privilege)
        self.server.commands["core show channels"] = self._channels_text
        self.server.commands["core show version"] = lambda: _VERSION_TEXT
        self.server.start()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="amikit-sim-pbx", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the traffic and the server (idempotent)."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        with self._inflight_cond:
            self._inflight_cond.notify_all()
        self._thread.join(10.0)
        self._thread = None
        self.server.stop()

    def restart(self) -> None:
        """Restart the PBX as Asterisk does.

        Every AMI connection drops (clients see a reconnect); the live channels are gone
        without a ``Hangup`` (the old process died with them); the new run counts
        Uniqueids and Local channel numbers from 0 again, so names like
        ``Local/200@internal-00000000;1`` repeat; ``CoreStatus`` and ``FullyBooted`` report
        the new startup time. Background traffic resumes on the new run.
        """
        scheduler = self._scheduler()
        with self._lock:
            self._generation += 1
            self.server.restart()
            scheduler.reboot(self.now())
            self._booted_at = self.now()
        self._wake.set()

    def __enter__(self) -> PBX:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"{self.host}:{self.port}" if self._thread else "stopped"
        return f"<PBX {state} calls/min={self.calls_per_minute} seed={self.seed}>"

    # -- the clock ------------------------------------------------------------------------
    def now(self) -> float:
        """The simulated clock (epoch seconds)."""
        if self.flood:
            return self._flood_now
        return self._t0_sim + (time.monotonic() - self._t0_mono) * self.speed

    def _run(self) -> None:
        scheduler = self.scheduler
        assert scheduler is not None
        step = 0.05
        while not self._stopping.is_set():
            if self.flood:
                # virtual time: batches of a few hundred frames, never more than a few
                # batches in flight (back-pressure from the server's write queues)
                self._flood_now += step
                with self._inflight_cond:
                    self._inflight_cond.wait_for(
                        lambda: self._inflight < 4 or self._stopping.is_set(), 1.0
                    )
            try:
                with self._lock:
                    frames = scheduler.advance(self.now())
                    due = scheduler.next_due()
                    generation = self._generation
            except Exception:  # a bug must not silently stop the traffic: log, keep going
                log.exception("simulated PBX: advancing the calls failed")
                self.errors += 1
                self._wake.wait(0.5)
                continue
            self._send(frames, generation)
            if self.flood:
                if len(frames) < 300:
                    step = min(step * 2, 60.0)
                elif len(frames) > 3000:
                    step /= 2
                continue
            wait = (due - self.now()) / self.speed if due != math.inf else 0.5
            self._wake.wait(min(max(wait, 0.0), 0.5))
            self._wake.clear()

    def _send(self, frames: list[RenderedEvent], generation: int) -> None:
        if not frames and not self._after_batch:
            return
        self.events_sent += len(frames)
        msgs = [(Message(f.data), privilege_classes(f.privilege)) for f in frames]
        after, self._after_batch = self._after_batch, []
        with self._inflight_cond:
            self._inflight += 1
        try:
            self.server.call_soon(self._broadcast_batch, msgs, after, generation)
        except (RuntimeError, UsageError):  # the server stopped under us
            with self._inflight_cond:
                self._inflight -= 1
                self._inflight_cond.notify_all()

    def _broadcast_batch(
        self,
        msgs: list[tuple[Message, frozenset[str]]],
        after: list[Callable[[], Any]],
        generation: int | None = None,
    ) -> None:
        # the server's broadcast, with the Privilege classes known in advance (flood speed)
        deliver = self.server.deliver
        if generation is not None and generation != self._generation:
            msgs = []  # computed before a restart: that run's channels are gone
        for msg, classes in msgs:
            deliver(msg, classes)
        for callback in after:
            callback()
        # flood: hold the batch "in flight" until the sessions' write queues have drained
        if self.flood and self.server.max_backlog > 20_000:
            loop = asyncio.get_running_loop()
            loop.call_later(0.005, self._broadcast_batch, [], [])
            return
        with self._inflight_cond:
            self._inflight -= 1
            self._inflight_cond.notify_all()

    # -- calls from Python -------------------------------------------------------------------
    def call(
        self,
        scenario: str,
        *,
        caller: tuple[str, str] | None = None,
    ) -> Call:
        """Start one call of ``scenario`` now (as if an auto-dialer originated it)."""
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
        scheduler = self._scheduler()
        with self._lock:
            call = scheduler.start_call(scenario, self.now(), callers=[caller] if caller else None)
            self.calls_started += 1
        self._wake.set()
        return call

    def channels(self) -> list[dict[str, str]]:
        """The live simulated channels now: snapshot fields plus ``Application``, ``BridgeId``.

        The same view ``CoreShowChannels`` and ``Status`` report, for scripts and notebooks.
        """
        out = []
        with self._lock:
            for call, ch, now in self._channel_rows():
                row = dict(call.snapshot(ch, now))
                row["Application"], row["ApplicationData"] = ch.application
                row["BridgeId"] = (
                    call.render_value(ch.bridge.value("BridgeUniqueid") or "", now)
                    if ch.bridge is not None
                    else ""
                )
                row["Scenario"] = call.scenario
                out.append(row)
        return out

    def _scheduler(self) -> CallScheduler:
        if self.scheduler is None:
            raise UsageError("PBX is not running: use start() or a with block")
        return self.scheduler

    # -- actions ------------------------------------------------------------------------------
    async def _act_originate(self, session: ServerSession, msg: Message) -> list[Any]:
        scheduler = self._scheduler()
        channel = msg.get("Channel")
        if not channel:
            return [[("Response", "Error"), ("Message", "Channel not specified")]]
        if not (msg.get("Exten") or msg.get("Application")):
            return [[("Response", "Error"), ("Message", "Exten not specified")]]
        is_async = (msg.get("Async") or "").lower() in ("true", "yes", "1", "on", "y", "t")
        scenario = scenario_for(channel)
        caller = _parse_callerid(msg.get("CallerID"))
        action_id = msg.action_id
        queued = [("Response", "Success"), ("Message", "Originate successfully queued")]
        if scenario is None:
            if not is_async:
                return [[("Response", "Error"), ("Message", "Originate failed")]]
            self._originate_failed_later(msg, caller)
            return [queued]
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[bool] = loop.create_future()

        def on_originate(_call: Call, index: int, ok: bool) -> None:
            # runs on the clock thread inside advance(): resolve only after the frames of
            # this batch went out, so the Response follows the events that preceded it
            if index == 0:
                self._after_batch.append(
                    lambda: outcome.done() or outcome.set_result(ok)  # type: ignore[func-returns-value]
                )

        with self._lock:
            scheduler.start_call(
                scenario,
                self.now(),
                callers=[caller or ("<unknown>", "<unknown>")],
                action_ids=[action_id or ""],
                sync=not is_async,
                on_originate=None if is_async else on_originate,
                originate_fields={
                    k: msg.get(k) or "" for k in ("Context", "Exten") if msg.get(k) is not None
                },
            )
            self.calls_started += 1
        self._wake.set()
        if is_async:
            return [queued]
        timeout = float(msg.get("Timeout") or 30000) / 1000.0 / self.speed
        try:
            ok = await asyncio.wait_for(outcome, timeout + 5.0)
        except asyncio.TimeoutError:
            ok = False
        if ok:
            return [queued]
        return [[("Response", "Error"), ("Message", "Originate failed")]]

    def _originate_failed_later(self, msg: Message, caller: tuple[str, str] | None) -> None:
        """Async Originate to a destination the dialplan does not have: Failure, Reason 0."""
        num, name = caller or ("<unknown>", "<unknown>")
        pairs: list[tuple[str, str]] = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
        if self.timestamps:
            pairs.append(("Timestamp", f"{self.now():.6f}"))
        if msg.action_id is not None:
            pairs.append(("ActionID", msg.action_id))
        pairs += [
            ("Response", "Failure"),
            ("Channel", msg.get("Channel") or ""),
            ("Context", msg.get("Context") or ""),
            ("Exten", msg.get("Exten") or ""),
            ("Reason", "0"),
            ("Uniqueid", "<unknown>"),
            ("CallerIDNum", num),
            ("CallerIDName", name),
        ]
        self.server.call_soon(self.server.deliver, Message.from_pairs(pairs))

    def _act_hangup(self, session: ServerSession, msg: Message) -> list[Any]:
        scheduler = self._scheduler()
        channel = msg.get("Channel")
        if not channel:
            return [[("Response", "Error"), ("Message", "No channel specified")]]
        try:
            cause = int(msg.get("Cause") or 16)
        except ValueError:
            return [[("Response", "Error"), ("Message", "Invalid cause")]]
        with self._lock:
            now = self.now()
            if len(channel) > 2 and channel.startswith("/") and channel.endswith("/"):
                try:
                    rx = re.compile(channel[1:-1])
                except re.error:
                    return [[("Response", "Error"), ("Message", "Invalid regex")]]
                names = [ch.name for _, ch in scheduler.channels() if rx.search(ch.name)]
                done = sum(1 for name in names if scheduler.hang_up(name, cause, now))
                reply = [[("Response", "Success"), ("Message", f"{done} channels hung up.")]]
            elif scheduler.hang_up(channel, cause, now):
                reply = [[("Response", "Success"), ("Message", "Channel Hungup")]]
            else:
                reply = [[("Response", "Error"), ("Message", "No such channel")]]
        self._wake.set()
        return reply

    def _channel_rows(self) -> list[tuple[Call, Any, float]]:
        scheduler = self._scheduler()
        now = self.now()
        return [(call, ch, now) for call, ch in scheduler.channels()]

    def _act_core_show_channels(self, session: ServerSession, msg: Message) -> list[Any]:
        frames: list[Any] = [
            [("Response", "Success"), ("EventList", "start"), ("Message", "Channels will follow")]
        ]
        with self._lock:
            for call, ch, now in self._channel_rows():
                bridge = ""
                if ch.bridge is not None:
                    bridge = call.render_value(ch.bridge.value("BridgeUniqueid") or "", now)
                frames.append(
                    [
                        ("Event", "CoreShowChannel"),
                        *call.snapshot(ch, now),
                        ("BridgeId", bridge),
                        ("Application", ch.application[0]),
                        ("ApplicationData", ch.application[1]),
                        ("Duration", _hms(now - ch.created)),
                    ]
                )
        frames.append(
            [
                ("Event", "CoreShowChannelsComplete"),
                ("EventList", "Complete"),
                ("ListItems", str(len(frames) - 1)),
            ]
        )
        return frames

    def _act_status(self, session: ServerSession, msg: Message) -> list[Any]:
        wanted = msg.get("Channel")
        frames: list[Any] = [
            [
                ("Response", "Success"),
                ("EventList", "start"),
                ("Message", "Channel status will follow"),
            ]
        ]
        with self._lock:
            rows = self._channel_rows()
            if wanted:
                rows = [r for r in rows if r[1].name == wanted]
                if not rows:
                    return [[("Response", "Error"), ("Message", "No such channel")]]
            for call, ch, now in rows:
                snap = call.snapshot(ch, now)
                fields = dict(snap)
                bridge = ""
                if ch.bridge is not None:
                    bridge = call.render_value(ch.bridge.value("BridgeUniqueid") or "", now)
                tech = ch.name.split("/", 1)[0]
                frames.append(
                    [
                        ("Event", "Status"),
                        ("Privilege", "Call"),
                        *snap,
                        ("Type", tech),
                        ("DNID", ""),
                        ("EffectiveConnectedLineNum", fields.get("ConnectedLineNum", "")),
                        ("EffectiveConnectedLineName", fields.get("ConnectedLineName", "")),
                        ("TimeToHangup", "0"),
                        ("BridgeID", bridge),
                        ("Application", ch.application[0]),
                        ("Data", ch.application[1]),
                        ("Nativeformats", "(slin)"),
                        ("Readformat", "slin"),
                        ("Readtrans", ""),
                        ("Writeformat", "slin"),
                        ("Writetrans", ""),
                        ("Callgroup", "0"),
                        ("Pickupgroup", "0"),
                        ("Seconds", str(int(now - ch.created))),
                    ]
                )
        frames.append(
            [
                ("Event", "StatusComplete"),
                ("EventList", "Complete"),
                ("ListItems", str(len(frames) - 1)),
                ("Items", str(len(frames) - 1)),
            ]
        )
        return frames

    def _act_queue_status(self, session: ServerSession, msg: Message) -> list[Any]:
        wanted = msg.get("Queue")
        scheduler = self._scheduler()
        frames: list[Any] = [
            [
                ("Response", "Success"),
                ("EventList", "start"),
                ("Message", "Queue status will follow"),
            ]
        ]
        with self._lock:
            now = self.now()
            waiting = scheduler.queue_callers()
            for queue, strategy, members in QUEUES:
                if wanted and wanted != queue:
                    continue
                entries = [w for w in waiting if w[0] == queue]
                stats = scheduler.queue_stats.get(queue, {})
                frames.append(
                    [
                        ("Event", "QueueParams"),
                        ("Queue", queue),
                        ("Max", "0"),
                        ("Strategy", strategy),
                        ("Calls", str(len(entries))),
                        ("Holdtime", str(stats.get("holdtime", 0))),
                        ("TalkTime", str(stats.get("talktime", 0))),
                        ("Completed", str(stats.get("completed", 0))),
                        ("Abandoned", str(stats.get("abandoned", 0))),
                        ("ServiceLevel", "0"),
                        ("ServicelevelPerf", "0.0"),
                        ("ServicelevelPerf2", "0.0"),
                        ("Weight", "0"),
                    ]
                )
                for name, interface in members:
                    state = scheduler.queue_members.get((queue, interface), {})
                    frames.append(
                        [
                            ("Event", "QueueMember"),
                            ("Queue", queue),
                            ("Name", name),
                            ("Location", interface),
                            ("StateInterface", interface.removesuffix("/n")),
                            ("Membership", "static"),
                            ("Penalty", "0"),
                            ("CallsTaken", state.get("CallsTaken", "0")),
                            ("LastCall", state.get("LastCall", "0")),
                            ("LastPause", "0"),
                            ("LoginTime", str(int(self._t0_sim))),
                            ("InCall", state.get("InCall", "0")),
                            ("Status", state.get("Status", "1")),
                            ("Paused", "0"),
                            ("PausedReason", ""),
                            ("Wrapuptime", "0"),
                        ]
                    )
                for position, (_, call, ch, joined) in enumerate(entries, start=1):
                    snap = dict(call.snapshot(ch, now))
                    frames.append(
                        [
                            ("Event", "QueueEntry"),
                            ("Queue", queue),
                            ("Position", str(position)),
                            ("Channel", snap["Channel"]),
                            ("Uniqueid", snap["Uniqueid"]),
                            ("CallerIDNum", snap["CallerIDNum"]),
                            ("CallerIDName", snap["CallerIDName"]),
                            ("ConnectedLineNum", snap["ConnectedLineNum"]),
                            ("ConnectedLineName", snap["ConnectedLineName"]),
                            ("Wait", str(int(now - joined))),
                            ("Priority", "0"),
                        ]
                    )
        frames.append(
            [
                ("Event", "QueueStatusComplete"),
                ("EventList", "Complete"),
                ("ListItems", str(len(frames) - 1)),
            ]
        )
        return frames

    def _act_core_status(self, session: ServerSession, msg: Message) -> list[Any]:
        scheduler = self._scheduler()
        with self._lock:
            current = len({call.number for call, _ in scheduler.channels()})
            processed = scheduler.calls_processed
        # a simulated PBX never reloads: its reload time is its boot time
        return core_status_reply(self._booted_at, self._booted_at, current, processed)

    def _channels_text(self) -> str:
        scheduler = self._scheduler()
        # Asterisk's FORMAT_STRING: "%-64.64s %-32.32s %-7.7s %-50.50s"
        row = "{:<64.64} {:<32.32} {:<7.7} {:<50.50}"
        rows = [row.format("Channel", "Location", "State", "Application(Data)")]
        with self._lock:
            now = self.now()
            live = self._channel_rows()
            calls = len({call.number for call, _, _ in live})
            for call, ch, _ in live:
                snap = dict(call.snapshot(ch, now))
                location = f"{snap['Exten']}@{snap['Context']}:{snap['Priority']}"
                app = f"{ch.application[0]}({ch.application[1]})" if ch.application[0] else ""
                state = snap["ChannelStateDesc"]
                rows.append(row.format(ch.name, location, state, app))
            processed = scheduler.calls_processed
        n = len(live)
        rows.append(f"{n} active channel{'' if n == 1 else 's'}")
        rows.append(f"{calls} active call{'' if calls == 1 else 's'}")
        rows.append(f"{processed} call{'' if processed == 1 else 's'} processed")
        return "\n".join(rows)
