"""``amikit serve``: the simulated PBX (or a replayed recording) on loopback.

Runs until interrupted (Ctrl-C) or for ``--seconds``. The first lines printed say where to
connect and with which demo credentials, so scripts and tests can read them.
"""

from __future__ import annotations

import argparse
import errno
import sys
import threading
from typing import Any

from . import ExitStatus

DEMO_USER = "admin"
DEMO_SECRET = "amikit"


EXAMPLES = """\
amikit serve                                # the simulated PBX on 127.0.0.1:5038
amikit serve --port 0 --calls-per-minute 60 # any free port, busier
amikit serve --replay capture.raw --speed 10 # replay a recording ten times faster
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=5038, help="TCP port (0: any free one)")
    parser.add_argument("--calls-per-minute", type=float, default=6.0, help="background call rate")
    parser.add_argument("--seed", type=int, default=None, help="same seed, same calls")
    parser.add_argument(
        "--scenarios",
        default=None,
        help="background mix, e.g. 'answered=5,busy=1,queue=2' (default: a realistic mix)",
    )
    parser.add_argument("--cdr", action="store_true", help="also emit Cdr events")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument(
        "--replay",
        metavar="FILE",
        help="serve this recording instead: a raw AMI capture, an amikit text log, a folder "
        "written by `amikit record`, or a Parquet recording",
    )
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")


def _mix(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.strip().partition("=")
        if name:
            mix[name.strip()] = float(weight) if weight else 1.0
    return mix


def run(args: argparse.Namespace) -> int:
    from ..sim import PBX, replay

    server: Any
    if args.replay:
        from ._events import check_input

        check_input(args.replay)  # refuses a FIFO or a device before opening it
        server = replay(args.replay, speed=args.speed, port=args.port)
        what = f"replaying {args.replay} at x{args.speed:g} (each client from its login)"
    else:
        server = PBX(
            calls_per_minute=args.calls_per_minute,
            scenarios=_mix(args.scenarios),
            seed=args.seed,
            cdr=args.cdr,
            port=args.port,
            speed=args.speed,
        )
        what = f"simulated Asterisk 22 PBX, {args.calls_per_minute:g} calls/min"
        if args.seed is not None:
            what += f", seed {args.seed}"
    stop = threading.Event()
    try:
        server.start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(
            f"amikit serve: port {args.port} on 127.0.0.1 is already in use (another "
            f"`amikit serve`, or an Asterisk?). Stop it, or pick another port: "
            f"`amikit serve --port {args.port + 1}` (--port 0: any free port)",
            file=sys.stderr,
        )
        return ExitStatus.ERROR
    try:
        print(f"amikit serve: {what}")
        print(f"host: {server.host}")
        print(f"port: {server.port}")
        print(f"username: {DEMO_USER}")
        print(f"secret: {DEMO_SECRET}")
        print(f"connect any AMI client to {server.host}:{server.port} (Ctrl-C stops)")
        sys.stdout.flush()
        try:
            stop.wait(args.seconds)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    finally:
        server.stop()
    return 0
