"""``amikit record HOST[:PORT]... --out DIR``: record AMI servers to text logs and Parquet.

One server or a fleet: every ``HOST[:PORT]`` gets its own client, and all are recorded into
the one folder (each server's rows in its ``server=`` partition, its own text log). Logins
come from the environment, a ``--config`` file, or the terminal, never from an option
(``ps`` and shell history would show it): see :mod:`amikit._cli._logins`. Runs until Ctrl-C
(or SIGTERM, or ``--stop-after``), then writes out everything received and prints what it
wrote. A server that cannot be recorded (unreachable, login refused) is reported by name and
the others go on; the exit status then says that one failed. Read the result back with
``amikit.load(DIR)``.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import ExitStatus
from ._connect import DEFAULT_PORT, split_server

EXAMPLES = """\
AMI_SECRET=... amikit record pbx:5038 --user admin --out recordings/pbx1
amikit record 127.0.0.1 --out today --stop-after 3600 --exclude 'VarSet,Newexten'
AMI_SECRET_PBX_A=... AMI_SECRET_PBX_B=... amikit record pbx-a pbx-b -u admin --out fleet
amikit record pbx-a:5038 pbx-b:5039 --config ~/.config/amikit/pbx.ini --out fleet

several servers: each login is looked up, per server, in AMI_USERNAME_<HOST>_<PORT> /
AMI_SECRET_<HOST>_<PORT>, then AMI_..._<HOST> (upper-cased, '-' and '.' as '_'), then the
host's [pbx-a:5038] or [pbx-a] section of the --config file, then --user / AMI_USERNAME and
AMI_SECRET, else asked. The config file (INI, chmod 600, refused if others may read it):
  [DEFAULT]
  username = admin
  [pbx-a:5038]
  secret = ...
  [pbx-b]
  secret = ...
  auth = plain
  tls = no-verify
A server that fails (unreachable, login refused) is named on stderr, the others go on
recording, and the exit status is non-zero.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "servers",
        nargs="+",
        metavar="HOST[:PORT]",
        help=f"AMI server(s) (port {DEFAULT_PORT}), all recorded into one folder",
    )
    parser.add_argument("--out", "-o", required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--user", "-u", help="AMI username of servers without their own ($AMI_USERNAME, or ask)"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="INI file with a [HOST:PORT] or [HOST] section per server: username, secret, "
        "auth, tls (chmod 600)",
    )
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


#: How the closing summary names why a server was not recorded in full.
_FAILURES = {
    ExitStatus.AUTH: "login refused",
    ExitStatus.CONNECT: "cannot connect",
    ExitStatus.ERROR: "write error",
}


class _Recording:
    """One server being recorded: its client, its recorder, and why it stopped, if it did."""

    def __init__(self, server: str, client: Any, recorder: Any) -> None:
        self.server = server
        self.client = client
        self.recorder = recorder
        self.status: ExitStatus | None = None  # why it stopped early (None: it did not)
        self.closing = False  # closed by us: its "closed" notice is no news

    def close(self) -> None:
        self.closing = True
        self.client.close()

    def fail(self, status: ExitStatus) -> None:
        if self.status is None:  # the first cause is the one to report
            self.status = status


def _targets(texts: list[str]) -> list[Any] | None:
    """The command line's servers, or None after saying on stderr which one is wrong."""
    from ._logins import Target

    targets = []
    for text in texts:
        try:
            targets.append(Target(*split_server(text)))
        except ValueError as exc:
            print(f"amikit record: {exc}", file=sys.stderr)
            return None
    seen: set[str] = set()
    for target in targets:
        if target.server in seen:  # two recorders would share one partition and text log
            print(f"amikit record: {target.server} is given twice", file=sys.stderr)
            return None
        seen.add(target.server)
    return targets


def run(args: argparse.Namespace) -> int:
    from .._exceptions import AmiError, AuthenticationError, UsageError
    from ..client import AMIClient
    from ..record import Recorder
    from ._logins import login_for, read_config

    targets = _targets(args.servers)
    if targets is None:
        return ExitStatus.USAGE
    several = len(targets) > 1
    try:
        config = read_config(args.config) if args.config else None
    except UsageError as exc:
        print(f"amikit record: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    logins = []
    for target in targets:
        login = login_for(target, args, config, several=several)
        if login is None:
            return ExitStatus.USAGE
        logins.append(login)
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
    recordings: list[_Recording] = []
    try:
        # One Recorder (so one RecordingSink) per server, not one shared: each sink stamps
        # its server on its rows, publishes its parts into its own server= partition (so no
        # two writers ever touch one part or one compaction), keeps its own text log and
        # index, and has its own writer thread, so a slow or failing server never holds up
        # or stops another. They start one after another in this thread: each picks its text
        # log by reading the logs the earlier ones opened (log_for_server).
        try:
            for target, login in zip(targets, logins, strict=True):
                client = AMIClient(
                    target.host,
                    target.port,
                    login.username,
                    login.secret,
                    tls=login.tls,
                    auth=login.auth,  # type: ignore[arg-type]  # checked by _logins
                    ping_interval=args.ping_interval,
                )
                recording = _Recording(client.server, client, Recorder(client, args.out, **options))
                recordings.append(recording)
                client.on_connection(_reporter(recording, several))
                recording.recorder.start()
        except UsageError as exc:
            for recording in recordings:
                recording.recorder.stop()
                recording.close()
            _remove_new(args.out, before)
            print(f"amikit record: {exc}", file=sys.stderr)
            return ExitStatus.USAGE

        def connect(recording: _Recording) -> AmiError | None:
            try:
                recording.client.connect()
            except AmiError as exc:
                return exc
            return None

        # All at once: an unreachable server's connect timeout delays nobody else.
        with ThreadPoolExecutor(max_workers=len(recordings)) as pool:
            errors = list(pool.map(connect, recordings))
        for recording, error in zip(recordings, errors, strict=True):
            if error is None:
                continue
            recording.recorder.stop()
            recording.close()
            refused = isinstance(error, AuthenticationError)
            status = ExitStatus.AUTH if refused else ExitStatus.CONNECT
            text = str(error) if recording.server in str(error) else f"{recording.server}: {error}"
            recording.fail(status)
            print(f"amikit record: {text}", file=sys.stderr)
        live = [r for r in recordings if r.status is None]
        if not live:
            # Nothing was recorded: leave no empty log or folder that looks like a recording.
            _remove_new(args.out, before)
            return _status(recordings, interrupted=False)
        for recording in recordings:
            if recording.status is not None:  # its empty text log would look recorded
                _remove_new_files(recording.recorder.sink.text_log, before)
        for recording in live:
            print(f"recording {recording.server} -> {args.out} (Ctrl-C to stop)", file=sys.stderr)
        # Wake up now and then: a signal delivered to another thread (the kernel may pick
        # any) only runs its Python handler when the main thread runs bytecode.
        deadline = None if args.stop_after is None else time.monotonic() + args.stop_after
        while not done.wait(0.2):
            if deadline is not None and time.monotonic() >= deadline:
                break
            for recording in live:
                if recording.recorder.error is not None:  # a write error (disk full...)
                    recording.fail(ExitStatus.ERROR)
            if all(r.status is not None for r in live):  # nothing left to record
                break
        for recording in live:
            _stop(recording, args.out, several)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    failed = [r for r in recordings if r.status is not None]
    if failed and several:
        names = ", ".join(f"{r.server} ({_FAILURES[r.status]})" for r in failed)  # type: ignore[index]
        print(
            f"amikit record: {len(failed)} of {len(recordings)} servers not recorded "
            f"(in full): {names}",
            file=sys.stderr,
        )
    return _status(recordings, interrupted=interrupted[0])


def _stop(recording: _Recording, out: str, several: bool) -> None:
    """Write out what ``recording`` received, close its client, and say what it wrote."""
    whose = f"{recording.server}: " if several else ""
    try:
        recording.recorder.stop()
    except BaseException as exc:  # the writer's error, whatever it is: the others stop too
        recording.close()
        stats = recording.recorder.stats
        recording.fail(ExitStatus.ERROR)
        print(
            f"amikit record: {whose}recording failed: {exc} "
            f"({stats['received']:,} events received, {stats['dropped']:,} not written)",
            file=sys.stderr,
        )
        return
    stats = recording.recorder.stats
    recording.close()
    source = f" from {recording.server}" if several else ""
    print(
        f"recorded {stats['received']:,} events{source} ({stats['filtered']:,} filtered out) "
        f"-> {out}",
        file=sys.stderr,
    )


def _status(recordings: list[_Recording], *, interrupted: bool) -> ExitStatus:
    """A server that failed makes the run fail: its status if all failures agree."""
    statuses = {r.status for r in recordings if r.status is not None}
    if len(statuses) == 1:
        return statuses.pop()  # type: ignore[return-value]
    if statuses:
        return ExitStatus.ERROR
    return ExitStatus.INTERRUPTED if interrupted else ExitStatus.OK


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


def _remove_new_files(log: Path | None, before: set[Path] | None) -> None:
    """Remove a text log and its index unless they were there before (see _existing)."""
    from ..record import index_path

    if log is None:
        return
    for path in (log, index_path(log)):
        if before is None or path not in before:
            path.unlink(missing_ok=True)


def _reporter(recording: _Recording, several: bool) -> Any:
    """The connection notices of one server, on stderr (named when there are several)."""
    whose = f"{recording.server}: " if several else ""

    def report(event: Any) -> None:
        if event.kind == "disconnected":
            print(
                f"-- {whose}disconnected: {event.reason}; reconnecting", file=sys.stderr, flush=True
            )
        elif event.kind == "reconnected":
            print(f"-- {whose}reconnected (connection {event.generation}); gap recorded",
                  file=sys.stderr)  # fmt: skip
        elif event.kind == "closed" and not recording.closing:
            # the client gave up by itself: its login was refused on a reconnect. Noted here,
            # before the notice is printed, so a Ctrl-C right after it still counts it.
            recording.fail(ExitStatus.AUTH)
            print(f"-- {whose}{event.reason}; no longer recording", file=sys.stderr)

    return report
