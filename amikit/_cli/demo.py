"""``amikit demo``: a simulated Asterisk 22 PBX, watched live, no Asterisk and no network.

Strategy
--------
The demo is a short pipeline of *stages* run in order on one shared :class:`DemoRun`:

1. ``live``: start :class:`~amikit.sim.PBX` in-process on 127.0.0.1, connect an
   :class:`~amikit.AMIClient`, print the events that tell the story of the calls (a call
   starts, rings, is answered, bridged, transferred, hung up with a cause) and fold the
   dialplan noise (``VarSet``/``Newexten``: counted, not printed);
2. ``summary``: what the PBX did in those seconds.

Other layers (recording to a folder, per-call summaries, a ladder diagram) add themselves by
appending a stage to :data:`STAGES` (``stage(run) -> None``, reading ``run.messages``); a
stage whose layer is not installed is simply absent, so the demo works at every stage of
the project.
"""

from __future__ import annotations

import argparse
import queue
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

#: Events that are noise for a call story: counted, never printed.
NOISE = frozenset({"VarSet", "Newexten"})
#: Events printed by default (the others are counted in the summary).
STORY = frozenset(
    {
        "Newchannel",
        "DialBegin",
        "DialState",
        "DialEnd",
        "BridgeEnter",
        "BridgeLeave",
        "Hangup",
        "BlindTransfer",
        "AttendedTransfer",
        "Pickup",
        "QueueCallerJoin",
        "AgentConnect",
        "ParkedCall",
        "ParkedCallTimeOut",
        "ConfbridgeJoin",
        "Hold",
        "Unhold",
        "DTMFEnd",
        "UserEvent",
        "OriginateResponse",
    }
)


@dataclass
class DemoRun:
    """What one demo run saw; stages read and extend it."""

    args: argparse.Namespace
    out: TextIO = sys.stdout
    host: str = ""
    port: int = 0
    started: float = 0.0
    messages: list[Any] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=15.0, help="how long to watch")
    parser.add_argument("--calls-per-minute", type=float, default=40.0, help="simulated call rate")
    parser.add_argument("--seed", type=int, default=None, help="same seed, same calls")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--all", action="store_true", help="print every event (noise included)")


def _channel(msg: Any) -> str:
    if msg.get("Channel"):
        return msg.get("Channel")
    return "(originate)" if msg.name.startswith("Dial") else ""


def describe(msg: Any) -> str:
    """One line for an event of the call story."""
    name = msg.name
    chan = _channel(msg)
    detail = ""
    if name == "Newchannel":
        detail = f"-> {msg.get('Exten', '')}@{msg.get('Context', '')}"
    elif name in ("DialBegin", "DialState", "DialEnd"):
        detail = f"-> {msg.get('DestChannel', '')} {msg.get('DialStatus', '')}".rstrip()
    elif name in ("BridgeEnter", "BridgeLeave"):
        detail = f"bridge {str(msg.get('BridgeUniqueid', ''))[:8]} ({msg.get('BridgeType', '')})"
    elif name == "Hangup":
        detail = f"cause {msg.get('Cause', '')} {msg.get('Cause-txt', '')}"
    elif name == "OriginateResponse":
        detail = f"{msg.get('Response', '')} reason {msg.get('Reason', '')}"
    elif name in ("QueueCallerJoin", "AgentConnect"):
        detail = f"queue {msg.get('Queue', '')} {msg.get('MemberName', '')}".rstrip()
    elif name == "UserEvent":
        detail = msg.get("UserEvent", "")
    elif name in ("BlindTransfer", "AttendedTransfer"):
        detail = f"result {msg.get('Result', '')}"
    elif name == "DTMFEnd":
        detail = f"digit {msg.get('Digit', '')}"
    elif name.startswith("Parked"):
        detail = f"space {msg.get('ParkingSpace', '')}"
    return f"{name:<17} {chan:<34} {detail}".rstrip()


def stage_live(run: DemoRun) -> None:
    """Start the PBX and a client; print the live call story for ``--seconds``."""
    from ..client import AMIClient
    from ..sim import PBX

    args = run.args
    inbox: queue.Queue[Any] = queue.Queue()
    pbx = PBX(calls_per_minute=args.calls_per_minute, seed=args.seed, speed=args.speed)
    with pbx:
        run.host, run.port = pbx.host, pbx.port
        run.print(
            f"amikit demo: a simulated Asterisk 22 PBX on {pbx.host}:{pbx.port} "
            f"(user admin, secret amikit), {args.calls_per_minute:g} calls/min"
        )
        run.print(f"watching for {args.seconds:g} s; VarSet/Newexten noise is folded")
        run.print()
        with AMIClient(pbx.host, pbx.port, "admin", "amikit") as client:
            client.on("*", inbox.put, thread="loop", lossless=True)
            pbx.call("answered")  # something to watch at once; the traffic follows
            run.started = time.monotonic()
            deadline = run.started + args.seconds
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    msg = inbox.get(timeout=min(left, 0.25))
                except queue.Empty:
                    continue
                run.messages.append(msg)
                run.counts[msg.name] += 1
                if args.all or (msg.name in STORY and msg.name not in NOISE):
                    stamp = time.monotonic() - run.started
                    run.print(f"{stamp:6.2f}s  {describe(msg)}")
            run.extra["pbx_calls_started"] = pbx.engine.calls_processed if pbx.engine else 0


def stage_summary(run: DemoRun) -> None:
    """Totals: events by kind, noise share, calls and how they ended."""
    total = sum(run.counts.values())
    noise = sum(run.counts[n] for n in NOISE)
    calls = {m.get("Linkedid") for m in run.messages if m.get("Linkedid")}
    causes = Counter(
        m.get("Cause-txt", "") for m in run.messages if m.name == "Hangup" and m.get("Cause-txt")
    )
    answered = sum(
        1 for m in run.messages if m.name == "DialEnd" and m.get("DialStatus") == "ANSWER"
    )
    run.print()
    run.print("summary")
    run.print(f"  events received : {total:,} ({len(run.counts)} kinds)")
    share = f"{noise / total:.0%}" if total else "0%"
    run.print(f"  noise folded    : {noise:,} VarSet/Newexten ({share} of the stream)")
    run.print(f"  calls (Linkedid): {len(calls)}; answered dials: {answered}")
    if causes:
        top = ", ".join(f"{text} x{n}" for text, n in causes.most_common(4))
        run.print(f"  hangup causes   : {top}")
    busiest = ", ".join(f"{name} {n}" for name, n in run.counts.most_common() if name not in NOISE)
    run.print(f"  top events      : {', '.join(busiest.split(', ')[:6])}")


#: The demo's stages, in order. Later layers append theirs (see the module docstring).
STAGES: list[Callable[[DemoRun], None]] = [stage_live, stage_summary]


def run(args: argparse.Namespace) -> int:
    demo = DemoRun(args)
    for stage in list(STAGES):
        stage(demo)
    return 0
