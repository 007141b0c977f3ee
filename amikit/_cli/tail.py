"""``amikit tail HOST[:PORT]``: connect to an AMI server and print events as they arrive.

Credentials come from ``--user`` / ``AMI_USERNAME`` and ``AMI_SECRET``, or are asked for on
the terminal (the secret with :func:`getpass.getpass`, never echoed; there is deliberately no
option to pass it on the command line, where ``ps`` and shell history would show it). On
wrong credentials an interactive terminal is asked again; otherwise the exit status is 3.
The client pings, reconnects and reports gaps on stderr; Ctrl-C logs off and exits 130.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TextIO

from .._exceptions import AmiError, AuthenticationError
from ..cli import ExitStatus
from ..client import AMIClient, ConnectionEvent
from ..client._subscribe import Pattern
from ..protocol import Message

DEFAULT_PORT = 5038


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
    parser.add_argument("--ping-interval", type=float, default=20.0, help="seconds (20)")
    parser.add_argument("--ping-timeout", type=float, default=25.0, help="seconds (25)")


def split_server(text: str) -> tuple[str, int]:
    """``"pbx:5039"`` -> ``("pbx", 5039)``; ``"[::1]:5038"`` and a bare host work too."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not port:
        return host, DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}")
    return host, int(port)


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


def _interactive() -> bool:
    return sys.stdin.isatty()


def _credentials(
    args: argparse.Namespace, asked: bool, last_user: str | None = None
) -> tuple[str, str] | None:
    user = None if asked else (args.user or os.environ.get("AMI_USERNAME"))
    secret = None if asked else os.environ.get("AMI_SECRET")
    if (user is None or secret is None) and not _interactive():
        print(
            "amikit tail: set AMI_USERNAME and AMI_SECRET, or run it on a terminal", file=sys.stderr
        )
        return None
    if user is None:
        default = last_user or args.user or os.environ.get("AMI_USERNAME") or ""
        prompt = f"Username [{default}]: " if default else "Username: "
        user = input(prompt).strip() or default
    if secret is None:
        secret = getpass.getpass("Secret: ")
    return user, secret


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
    except argparse.ArgumentTypeError as exc:
        print(f"amikit tail: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    tls = True if args.tls else "no-verify" if args.tls_no_verify else None
    asked = False
    last_user: str | None = None
    while True:
        creds = _credentials(args, asked, last_user)
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
            if not _interactive():
                return ExitStatus.AUTH
            asked = True  # ask again, as a terminal user expects
            last_user = creds[0]
        except AmiError as exc:
            print(f"amikit tail: {type(exc).__name__}: {exc}", file=sys.stderr)
            return ExitStatus.CONNECT
    out = sys.stdout
    client.on_connection(_on_connection(sys.stderr))
    try:
        with client.events(_patterns(args.events)) as stream:
            print(
                f"-- connected to {client.server} as {creds[0]}; Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            for msg in stream:
                out.write(format_event(msg, args.oneline) + "\n")
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
