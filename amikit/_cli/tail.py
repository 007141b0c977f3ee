"""``amikit tail HOST[:PORT]``: connect to an AMI server and print events as they arrive.

Credentials come from ``--user`` / ``AMI_USERNAME`` and ``AMI_SECRET``, or are asked for on
the terminal (the secret with :func:`getpass.getpass`, never echoed; there is deliberately no
option to pass it on the command line, where ``ps`` and shell history would show it). On
wrong credentials an interactive terminal is asked again; otherwise the exit status is 3.
The client pings, reconnects and reports gaps on stderr; Ctrl-C logs off and exits 130.

``--fold-noise`` counts, without printing, the events :func:`amikit.analysis.drop_noise`
drops (the same default set, :data:`amikit.analysis.NOISE_EVENTS`: VarSet, Newexten, RTCP*,
device state, security events, ...); ``--collapse`` hides duplicate deliveries and folds
runs of identical events with :class:`amikit.analysis.Collapser` (the rules of
:func:`amikit.analysis.collapse`), printing ``repeated N times`` when a run ends. Both
report their counts on stderr every 10 s (when they changed) and at exit.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import Any, TextIO

from .._exceptions import AmiError, AuthenticationError
from ..client import AMIClient, ConnectionEvent, Pattern
from ..protocol import Message
from . import ExitStatus
from ._connect import DEFAULT_PORT, credentials, interactive, split_server

EXAMPLES = """\
AMI_SECRET=... amikit tail pbx:5038 --user admin
amikit tail 127.0.0.1 -e 'Dial*,Hangup' --oneline
amikit tail pbx --fold-noise --collapse    # noise counted on stderr, not printed
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", metavar="HOST[:PORT]", help=f"AMI server (port {DEFAULT_PORT})")
    parser.add_argument("--user", "-u", help="AMI username (default: $AMI_USERNAME, or ask)")
    parser.add_argument(
        "--events",
        "-e",
        action="append",
        metavar="NAMES",
        help="only these events: names or wildcards, comma-separated or repeated "
        "(e.g. -e 'Dial*,Hangup')",
    )
    parser.add_argument("--auth", choices=["md5", "plain"], default="md5", help="login method")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--tls", action="store_true", help="TLS with certificate verification")
    tls.add_argument(
        "--tls-no-verify", action="store_true", help="TLS without verification (lab servers)"
    )
    parser.add_argument("--oneline", action="store_true", help="one line per event")
    parser.add_argument(
        "--fold-noise",
        action="store_true",
        help="count, do not print, the noise events amikit.analysis.drop_noise drops "
        "(VarSet, Newexten, RTCP*, device state, ...)",
    )
    parser.add_argument(
        "--collapse",
        action="store_true",
        help="hide duplicate deliveries and fold runs of identical events (shown as "
        "'repeated N times')",
    )
    parser.add_argument("--ping-interval", type=float, default=20.0, help="seconds (20)")
    parser.add_argument("--ping-timeout", type=float, default=25.0, help="seconds (25)")


def _patterns(values: list[str] | None) -> Pattern:
    names = [n.strip() for v in values or [] for n in v.split(",") if n.strip()]
    return names or "*"


def format_event(msg: Message, oneline: bool) -> str:
    """The text printed for one event (secrets masked by ``str(msg)``)."""
    stamp = msg.received_at.strftime("%H:%M:%S.%f") if msg.received_at else "-"
    if oneline:
        fields = " ".join(f"{k}={v}" for k, v in msg.items()[1:] if k.lower() != "privilege")
        return f"{stamp} {msg.name} {fields}"
    return f"# {stamp} seq={msg.seq} connection={msg.connection}\n{msg}\n"


def _import_analysis() -> Any:
    """``amikit.analysis`` imported, with Python's Ctrl-C handler put back afterwards.

    Importing polars installs its own C-level SIGINT handler; with it, an untimed wait (the
    main thread asleep until the next event) is not woken by Ctrl-C, so ``amikit tail``
    would hang instead of exiting 130. Re-installing the Python handler restores the
    ordinary ``KeyboardInterrupt``.
    """
    import signal
    import threading

    import amikit.analysis as analysis

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.getsignal(signal.SIGINT))
    return analysis


class Folding:
    """What ``--fold-noise`` / ``--collapse`` let through, and what they counted.

    ``feed(msg)`` returns the lines to print for ``msg`` (none when it is folded);
    :meth:`report` is the stderr summary.
    """

    REPORT_EVERY = 10.0

    def __init__(self, *, fold_noise: bool, collapse: bool, oneline: bool, stream: str) -> None:
        analysis = _import_analysis()
        self.is_noise = analysis.is_noise if fold_noise else None
        self.collapser = analysis.Collapser() if collapse else None
        self.oneline = oneline
        self.stream = stream
        self.noise: Counter[str] = Counter()
        self.duplicates = 0
        self.repeats = 0
        self._run: Any = None  # the last printed item of the collapser
        self._run_printed = 1
        self._reported: tuple[int, int, int] = (0, 0, 0)
        self._last_report = time.monotonic()

    def _run_end(self) -> list[str]:
        """A line for the run that just ended, when it had repeats."""
        run = self._run
        if run is None or run.count <= self._run_printed:
            return []
        span = ""
        if run.first is not None and run.last is not None:
            span = f" over {(run.last - run.first).total_seconds():.1f} s"
        text = f"{run.message.name} repeated {run.count} times{span}"
        self._run_printed = run.count
        return [f"  ^ {text}" if self.oneline else f"# ^ {text}\n"]

    def feed(self, msg: Message) -> list[str]:
        if self.is_noise is not None and self.is_noise(msg.name):
            self.noise[msg.name] += 1
            return []
        if self.collapser is None:
            return [format_event(msg, self.oneline)]
        result = self.collapser.feed(msg, stream=self.stream)
        if result.status == "duplicate":
            self.duplicates += 1
            return []
        if result.status == "repeat":
            self.repeats += 1
            return []
        lines = self._run_end()
        self._run, self._run_printed = result.item, 1
        return [*lines, format_event(msg, self.oneline)]

    def flush(self) -> list[str]:
        """Lines owed at the end (a run of repeats still open)."""
        return self._run_end()

    def report(self, *, final: bool = False) -> str | None:
        """The counts for stderr: at exit, or every 10 s when they changed."""
        now = time.monotonic()
        counts = (sum(self.noise.values()), self.duplicates, self.repeats)
        if not final and (now - self._last_report < self.REPORT_EVERY or counts == self._reported):
            return None
        self._last_report, self._reported = now, counts
        parts = []
        if self.is_noise is not None:
            top = ", ".join(f"{name} {n}" for name, n in self.noise.most_common(4))
            parts.append(f"noise folded: {counts[0]}" + (f" ({top})" if top else ""))
        if self.collapser is not None:
            parts.append(f"duplicates hidden: {counts[1]}, repeats folded: {counts[2]}")
        return "-- " + "; ".join(parts)


def _on_connection(err: TextIO):
    def report(event: ConnectionEvent) -> None:
        if event.kind == "disconnected":
            print(f"-- disconnected: {event.reason}; reconnecting", file=err, flush=True)
        elif event.kind == "reconnected" and event.gap_start and event.gap_end:
            gap = (event.gap_end - event.gap_start).total_seconds()
            print(
                f"-- reconnected after a gap of {gap:.1f} s (connection {event.generation})",
                file=err,
                flush=True,
            )
        elif event.kind == "closed" and event.reason != "closed by the client":
            print(f"-- stopped: {event.reason}", file=err, flush=True)

    return report


def run(args: argparse.Namespace) -> int:
    try:
        host, port = split_server(args.server)
    except ValueError as exc:
        print(f"amikit tail: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    tls = True if args.tls else "no-verify" if args.tls_no_verify else None
    asked = False
    last_user: str | None = None
    while True:
        creds = credentials(args, "tail", ask=asked, last_user=last_user)
        if creds is None:
            return ExitStatus.USAGE
        client = AMIClient(
            host,
            port,
            creds[0],
            creds[1],
            tls=tls,
            auth=args.auth,
            ping_interval=args.ping_interval,
            ping_timeout=args.ping_timeout,
        )
        try:
            client.connect()
            break
        except AuthenticationError as exc:
            print(f"amikit tail: {exc}", file=sys.stderr)
            if not interactive():
                return ExitStatus.AUTH
            asked = True  # ask again, as a terminal user expects
            last_user = creds[0]
        except AmiError as exc:
            print(f"amikit tail: {type(exc).__name__}: {exc}", file=sys.stderr)
            return ExitStatus.CONNECT
    out = sys.stdout
    client.on_connection(_on_connection(sys.stderr))
    folding = (
        Folding(
            fold_noise=args.fold_noise,
            collapse=args.collapse,
            oneline=args.oneline,
            stream=f"{host}:{port}",
        )
        if args.fold_noise or args.collapse
        else None
    )
    try:
        with client.events(_patterns(args.events)) as stream:
            print(
                f"-- connected to {client.server} as {creds[0]}; Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            for msg in stream:
                if folding is None:
                    out.write(format_event(msg, args.oneline) + "\n")
                else:
                    for line in folding.feed(msg):
                        out.write(line + "\n")
                    note = folding.report()
                    if note:
                        print(note, file=sys.stderr, flush=True)
                out.flush()
        # the stream only ends by itself when the client stopped (e.g. login refused)
        return ExitStatus.AUTH if client.closed else ExitStatus.OK
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:  # `amikit tail ... | head`
        return ExitStatus.OK
    finally:
        try:
            client.close(timeout=2)
        except (AmiError, KeyboardInterrupt):
            pass
        if folding is not None:
            try:
                for line in folding.flush():
                    out.write(line + "\n")
                out.flush()
                print(folding.report(final=True), file=sys.stderr, flush=True)
            except (BrokenPipeError, KeyboardInterrupt):
                pass
