"""``amikit record HOST[:PORT] --out DIR``: record an AMI server to a text log and Parquet.

Credentials as in ``amikit tail``: ``--user`` / ``AMI_USERNAME`` and ``AMI_SECRET``, or asked
for on the terminal (the secret with :func:`getpass.getpass`; never an option, where ``ps``
and shell history would show it). Runs until Ctrl-C (or SIGTERM, or ``--stop-after``), then
writes out everything received and prints what it wrote. Read the result back with
``amikit.load(DIR)``.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import ExitStatus
from ._connect import DEFAULT_PORT, credentials, split_server

EXAMPLES = """\
AMI_SECRET=... amikit record pbx:5038 --user admin --out recordings/pbx1
amikit record 127.0.0.1 --out today --stop-after 3600 --exclude 'VarSet,Newexten'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", metavar="HOST[:PORT]", help=f"AMI server (port {DEFAULT_PORT})")
    parser.add_argument("--out", "-o", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--user", "-u", help="AMI username (default: $AMI_USERNAME, or ask)")
    parser.add_argument("--auth", choices=["md5", "plain"], default="md5", help="login method")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--tls", action="store_true", help="TLS with certificate verification")
    tls.add_argument("--tls-no-verify", action="store_true", help="TLS without verification")
    parser.add_argument("--no-text", action="store_true", help="no ami-log.txt text log")
    parser.add_argument("--no-parquet", action="store_true", help="no Parquet dataset")
    parser.add_argument("--include", action="append", metavar="NAMES", help="only these events")
    parser.add_argument("--exclude", action="append", metavar="NAMES", help="not these events")
    parser.add_argument("--flush-events", type=int, default=50_000, help="Parquet part size")
    parser.add_argument("--flush-seconds", type=float, default=0.5, help="Parquet part age")
    parser.add_argument("--rotate-mb", type=float, help="start a new text log at this size")
    parser.add_argument("--rotate-seconds", type=float, help="start a new text log this often")
    parser.add_argument("--stop-after", type=float, metavar="SECONDS", help="stop after a while")
    parser.add_argument("--ping-interval", type=float, default=20.0, help="seconds (20)")


def _names(values: list[str] | None) -> list[str] | None:
    names = [n.strip() for v in values or [] for n in v.split(",") if n.strip()]
    return names or None


def run(args: argparse.Namespace) -> int:
    from .._exceptions import AmiError, AuthenticationError, UsageError
    from ..client import AMIClient
    from ..record import Recorder

    try:
        host, port = split_server(args.server)
    except ValueError as exc:
        print(f"amikit record: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    creds = credentials(args, "record")
    if creds is None:
        return ExitStatus.USAGE
    tls: Any = True if args.tls else "no-verify" if args.tls_no_verify else None
    client = AMIClient(
        host, port, creds[0], creds[1], tls=tls, auth=args.auth, ping_interval=args.ping_interval
    )
    options = {
        "text": not args.no_text,
        "parquet": not args.no_parquet,
        "include": _names(args.include),
        "exclude": _names(args.exclude),
        "flush_events": args.flush_events,
        "flush_seconds": args.flush_seconds,
        "rotate_bytes": int(args.rotate_mb * 1e6) if args.rotate_mb else None,
        "rotate_seconds": args.rotate_seconds,
    }
    done = threading.Event()
    interrupted = [False]

    def on_signal(signum: int, frame: Any) -> None:
        interrupted[0] = signum == signal.SIGINT
        done.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    before = _existing(args.out)
    try:
        try:
            recorder = Recorder(client, args.out, **options).start()
        except UsageError as exc:
            print(f"amikit record: {exc}", file=sys.stderr)
            return ExitStatus.USAGE
        try:
            client.on_connection(_report)
            client.connect()
        except AmiError as exc:
            # Nothing was recorded: leave no empty log or folder that looks like a recording.
            recorder.stop()
            client.close()
            _remove_new(args.out, before)
            print(f"amikit record: {exc}", file=sys.stderr)
            return ExitStatus.AUTH if isinstance(exc, AuthenticationError) else ExitStatus.CONNECT
        print(f"recording {client.server} -> {args.out} (Ctrl-C to stop)", file=sys.stderr)
        # Wake up now and then: a signal delivered to another thread (the kernel may pick
        # any) only runs its Python handler when the main thread runs bytecode.
        deadline = None if args.stop_after is None else time.monotonic() + args.stop_after
        while not done.wait(0.2):
            if deadline is not None and time.monotonic() >= deadline:
                break
            if recorder.error is not None:  # a write error (disk full...) stops the run
                break
        try:
            recorder.stop()
        except Exception as exc:
            client.close()
            stats = recorder.stats
            print(
                f"amikit record: recording failed: {exc} "
                f"({stats['received']:,} events received, {stats['dropped']:,} not written)",
                file=sys.stderr,
            )
            return ExitStatus.ERROR
        stats = recorder.stats
        client.close()
        print(
            f"recorded {stats['received']:,} events ({stats['filtered']:,} filtered out) "
            f"-> {args.out}",
            file=sys.stderr,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return ExitStatus.INTERRUPTED if interrupted[0] else ExitStatus.OK


def _existing(out: str) -> set[Path] | None:
    """Every path under ``out`` now (None: ``out`` does not exist)."""
    root = Path(out)
    return {root, *root.rglob("*")} if root.exists() else None


def _remove_new(out: str, before: set[Path] | None) -> None:
    """Remove what was created under ``out`` since :func:`_existing` (all of it if new)."""
    root = Path(out)
    if before is None:
        shutil.rmtree(root, ignore_errors=True)
        return
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path not in before:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _report(event: Any) -> None:
    if event.kind == "disconnected":
        print(f"-- disconnected: {event.reason}; reconnecting", file=sys.stderr, flush=True)
    elif event.kind == "reconnected":
        print(f"-- reconnected (connection {event.generation}); gap recorded", file=sys.stderr)
