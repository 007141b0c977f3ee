"""``amikit summary [FILE]``: what an AMI capture holds (a bundled real one by default)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from .._exceptions import UsageError
from ..protocol import Parser, RemoteProtocolError
from ..record import read_capture
from ._events import check_input, load_events, no_messages

BUNDLED = "asterisk22/mixed60.raw"


EXAMPLES = """\
amikit summary                 # a real Asterisk 22 capture shipped with amikit
amikit summary capture.raw --top 20
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        nargs="?",
        help="raw AMI capture (default: a real Asterisk 22 capture shipped with amikit's tests)",
    )
    parser.add_argument("--top", type=int, default=12, help="how many event names to list")


def run(args: argparse.Namespace) -> int:
    if args.file:
        path = Path(args.file)
    else:
        path = Path(__file__).resolve().parents[2] / "tests" / "data" / BUNDLED
    if check_input(path) != "text":  # a recording folder or Parquet (record / convert / demo)
        load_events(path)  # an empty or damaged recording: the very verdict of calls/stats
        raise UsageError(
            f"{path} is a recording, not a text capture; summary reads one raw AMI capture or "
            f"text log. For a recording, try `amikit stats {path}` or `amikit calls {path}`"
        )
    data = read_capture(path)
    parser = Parser()
    try:
        messages = parser.feed(data)
    except RemoteProtocolError as exc:
        messages = exc.messages
        print(f"amikit: warning: {path}: {exc}", file=sys.stderr)
    if not messages:
        raise no_messages(path)
    events = Counter(m.name for m in messages if m.is_event)
    linkedids = {m.get("Linkedid") for m in messages if m.get("Linkedid")}
    channels = {m.get("Uniqueid") for m in messages if m.get("Uniqueid")}
    print(f"{path.name}: {len(data):,} bytes, {len(messages):,} messages")
    print(f"banner: {parser.banner or '(none)'}")
    print(
        f"events: {sum(events.values()):,} of {len(events)} kinds; "
        f"channels: {len(channels)}; calls (Linkedid): {len(linkedids)}"
    )
    width = max((len(n) for n in events), default=0)
    for name, count in events.most_common(args.top):
        print(f"  {name:<{width}}  {count:>6,}")
    return 0
