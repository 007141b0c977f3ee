"""``amikit demo``: a simulated Asterisk 22 PBX, watched live, no Asterisk and no network.

Strategy
--------
The demo is a short pipeline of *stages* run in order on one shared :class:`DemoRun`:

1. ``live``: start :class:`~amikit.sim.PBX` in-process on 127.0.0.1, connect an
   :class:`~amikit.AMIClient`, record everything it receives to ``--out`` (text log and
   Parquet dataset, :class:`amikit.Recorder`), and print the events that tell the story of
   the calls (a call starts, rings, is answered, bridged, transferred, hung up with a
   cause). Noise is folded with the analysis layer's own rules: the events
   :func:`amikit.analysis.drop_noise` drops (:func:`amikit.analysis.is_noise`) and the
   duplicates and repeats :class:`amikit.analysis.Collapser` finds are counted, not
   printed;
2. ``summary``: what the PBX did in those seconds;
3. ``calls``: :func:`amikit.analysis.calls` on the recording (read back with
   :func:`amikit.load`), one readable line per call;
4. ``ladder``: the ladder diagram of the most interesting finished call (a transfer, a
   queue, the most channels), printed as text and saved as SVG next to the recording.

A later layer can add itself by appending a stage to :data:`STAGES` (``stage(run) ->
None``, reading ``run.messages`` and ``run.extra``).
"""

from __future__ import annotations

import argparse
import queue
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

#: Events printed by default (the others are counted in the summary): who dials whom, how
#: the dial ends, who talks, what else happens, how each channel ends. Newchannel, DialState
#: and BridgeLeave only restate these lines; :class:`_Story` folds the restating rest.
STORY = frozenset(
    {
        "DialBegin",
        "DialEnd",
        "BridgeEnter",
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


EXAMPLES = """\
amikit demo                          # 15 s of simulated calls, then a summary
amikit demo --seconds 60 --out demo  # longer, recorded to ./demo (then: amikit calls demo)
amikit demo --all --seed 3           # every event, noise included; the same calls each time
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=15.0, help="how long to watch")
    parser.add_argument("--calls-per-minute", type=float, default=40.0, help="simulated call rate")
    parser.add_argument("--seed", type=int, default=None, help="same seed, same calls")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--all", action="store_true", help="print every event (noise included)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="record to this folder (default: a new temporary folder, printed)",
    )


LOCAL_CHANNELS = (
    "Local/…;1 and Local/…;2: the two ends of one Local channel (a call into Asterisk's own "
    "dialplan); the simulator places its calls through them"
)


class _Story:
    """Which events of the story get a line: each says something the others do not."""

    def __init__(self) -> None:
        self._local_ends: set[tuple[str, str]] = set()

    def tells(self, msg: Any) -> bool:
        name = msg.name
        if name not in STORY and name != "OriginateResponse":
            return False
        if name == "OriginateResponse":  # a successful one restates its DialEnd
            return (msg.get("Response") or "") != "Success"
        if name == "BridgeEnter":  # the second channel in: two parties talk
            return (msg.get("BridgeNumChannels") or "2") != "1"
        if name == "DialEnd" and not msg.get("Channel"):  # the originate's own leg
            return (msg.get("DialStatus") or "") != "ANSWER"
        channel = msg.get("Channel") or ""
        if name == "Hangup" and channel.startswith("Local/") and channel[-2:] in (";1", ";2"):
            # both ends of a Local channel hang up, mostly for the same reason: say it once
            key = (channel[:-2], msg.get("Cause") or "")
            if key in self._local_ends:
                self._local_ends.discard(key)
                return False
            self._local_ends.add(key)
        return True


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
    """Start the PBX, a client and a recorder; print the live call story for ``--seconds``."""
    from ..client import AMIClient
    from ..record import Recorder
    from ..sim import PBX
    from .tail import _import_analysis

    analysis = _import_analysis()  # polars, with Ctrl-C kept working
    args = run.args
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="amikit-demo-"))
    run.extra["out"] = out
    collapser = analysis.Collapser()
    story = _Story()
    folded: Counter[str] = Counter()
    inbox: queue.Queue[Any] = queue.Queue()
    pbx = PBX(calls_per_minute=args.calls_per_minute, seed=args.seed, speed=args.speed)
    with pbx:
        run.host, run.port = pbx.host, pbx.port
        run.print(
            f"amikit demo: a simulated Asterisk 22 PBX on {pbx.host}:{pbx.port} "
            f"(user admin, secret amikit), {args.calls_per_minute:g} calls/min"
        )
        run.print(f"recording to {out} (text log + Parquet)")
        run.print(
            f"watching for {args.seconds:g} s (Ctrl-C: stop early); noise (VarSet, Newexten, "
            "device state, ...) and repeats are folded"
        )
        run.print(LOCAL_CHANNELS)
        run.print()
        with AMIClient(pbx.host, pbx.port, "admin", "amikit") as client:
            client.on("*", inbox.put, thread="loop", lossless=True)
            with Recorder(client, out, flush_seconds=1.0) as recorder:
                pbx.call("answered")  # something to watch at once; the traffic follows
                run.started = time.monotonic()
                deadline = run.started + args.seconds
                try:
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
                        if args.all:
                            shown = True
                        elif analysis.is_noise(msg.name):
                            folded["noise"] += 1
                            shown = False
                        else:
                            status = collapser.feed(msg, stream=f"{pbx.host}:{pbx.port}").status
                            folded[status] += status != "new"
                            shown = status == "new" and story.tells(msg)
                        if shown:
                            stamp = time.monotonic() - run.started
                            run.print(f"{stamp:6.2f}s  {describe(msg)}")
                except KeyboardInterrupt:  # Ctrl-C: stop watching, still summarise
                    run.print("\n-- interrupted: stopping the PBX, then the summary")
            run.extra["recorded"] = recorder.stats
            run.extra["pbx_calls_started"] = pbx.scheduler.calls_processed if pbx.scheduler else 0
    run.extra["folded"] = folded


def stage_summary(run: DemoRun) -> None:
    """Totals: events by kind, noise share, calls and how they ended."""
    from ..analysis import is_noise

    total = sum(run.counts.values())
    noise_kinds = Counter({n: c for n, c in run.counts.items() if is_noise(n)})
    noise = sum(noise_kinds.values())
    folded = run.extra.get("folded", Counter())
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
    top_noise = ", ".join(f"{n} {c}" for n, c in noise_kinds.most_common(3))
    run.print(f"  noise folded    : {noise:,} ({share} of the stream: {top_noise})")
    run.print(
        f"  repeats folded  : {folded.get('repeat', 0):,}; "
        f"duplicates hidden: {folded.get('duplicate', 0):,}"
    )
    run.print(f"  calls (Linkedid): {len(calls)}; answered dials: {answered}")
    if causes:
        top = ", ".join(f"{text} x{n}" for text, n in causes.most_common(4))
        run.print(f"  hangup causes   : {top}")
    busiest = [f"{name} {n}" for name, n in run.counts.most_common() if not is_noise(name)]
    run.print(f"  top events      : {', '.join(busiest[:6])}")


def _clock(value: Any) -> str:
    return "-" if value is None else value.strftime("%H:%M:%S")


def stage_calls(run: DemoRun) -> None:
    """One line per call, from the recording read back and grouped by the analysis layer."""
    import polars as pl

    from ..analysis import calls, outcome_text
    from ..record import load
    from ._events import calls_footer, fmt_seconds, table

    out: Path = run.extra["out"]
    events = load(out)
    summary = calls(events)
    assert isinstance(summary, pl.DataFrame)
    run.extra["events"], run.extra["calls"] = events, summary
    rows = []
    for i, c in enumerate(summary.iter_rows(named=True), 1):
        ended = not c["in_progress"]
        cause = c["hangup_cause_txt"] or c["hangup_cause"] or "-"
        rows.append(
            [
                str(i),
                _clock(c["start"]),
                f"{c['caller_num'] or '?'} -> {c['dialed'] or '?'}",
                outcome_text(c),
                fmt_seconds(c["billsec"]) if ended else "-",
                cause if ended else "-",
                str(c["n_channels"]),
                ", ".join(x for x in ("transfer" * bool(c["transfers"]), c["queue"] or "") if x),
            ]
        )
    recorded = run.extra.get("recorded", {})
    run.print()
    run.print(f"calls in the recording ({recorded.get('received', events.height):,} messages)")
    headers = ["#", "start", "from -> to", "disposition", "billsec", "hangup", "chans", "notes"]
    run.print(table(headers, rows, right={"#", "billsec", "chans"}))
    run.print(calls_footer(summary))


def _interesting(summary: Any) -> int | None:
    """Row of the call most worth a ladder: finished, then transfer/queue, then channels."""
    best: tuple[int, int, int] | None = None
    pick = None
    for i, c in enumerate(summary.iter_rows(named=True)):
        if c["in_progress"] or c["joined_late"]:  # only a call seen whole
            continue
        key = (int(bool(c["transfers"])) + int(bool(c["queue"])), c["n_channels"], -i)
        if best is None or key > best:
            best, pick = key, i
    return pick


def stage_ladder(run: DemoRun) -> None:
    """The ladder of one interesting finished call: text here, SVG next to the recording."""
    from ..analysis import ladder

    summary = run.extra.get("calls")
    if summary is None or not summary.height:
        return
    row = _interesting(summary)
    if row is None:
        run.print("\nno call finished in time for a ladder diagram; try a longer --seconds")
        return
    call = summary.row(row, named=True)
    diagram = ladder(run.extra["events"], call["call_id"])
    out: Path = run.extra["out"]
    svg = diagram.save(out / f"ladder-call-{row + 1}.svg")
    run.print()
    run.print(
        f"ladder of call #{row + 1} ({call['caller_num'] or '?'} -> {call['dialed'] or '?'}, "
        f"{call['disposition']}, {call['n_channels']} channels)"
    )
    run.print(str(diagram))
    run.print()
    run.print(f"ladder saved to {svg}")
    run.print(f"explore the recording: amikit calls {out}")
    run.print(f"                       amikit timeline {out} {row + 1}")


#: The demo's stages, in order. Later layers append theirs (see the module docstring).
STAGES: list[Callable[[DemoRun], None]] = [stage_live, stage_summary, stage_calls, stage_ladder]


def run(args: argparse.Namespace) -> int:
    demo = DemoRun(args)
    for stage in list(STAGES):
        stage(demo)
    return 0
