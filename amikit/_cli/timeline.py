"""``amikit timeline FILE CALL_ID``: what happened in one call, and its ladder diagram."""

from __future__ import annotations

import argparse

from .._exceptions import UsageError
from ._events import load_events, table

EXAMPLES = """\
amikit timeline recordings/pbx1 3              # call #3 of `amikit calls`
amikit timeline capture.raw 1733221234.12 --ladder
amikit timeline capture.raw 3 --svg call3.svg --all
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="raw AMI capture, text log or recording")
    parser.add_argument(
        "call_id",
        help="a call id from `amikit calls` (or any Uniqueid of the call), or its # there",
    )
    parser.add_argument("--svg", metavar="OUT", help="also save the ladder diagram as SVG")
    parser.add_argument("--html", metavar="OUT", help="also save the ladder diagram as HTML")
    parser.add_argument(
        "--ladder", action="store_true", help="print the ladder diagram instead of the list"
    )
    parser.add_argument(
        "--all", action="store_true", help="keep noise events (VarSet, Newexten, RTCP ...)"
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="draw the two halves (;1/;2) of Local channels apart in the ladder too",
    )


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from ..analysis import calls, drop_noise, fold_dialplan, ladder, timeline

    events = load_events(args.file)
    call_id = args.call_id
    if call_id.isdigit():
        listing = calls(events)
        assert isinstance(listing, pl.DataFrame)
        index = int(call_id)
        if not 1 <= index <= listing.height:
            msg = f"there are {listing.height} calls; #{index} is not one of them"
            raise UsageError(msg)
        call_id = listing["call_id"][index - 1]
    shown = fold_dialplan(events) if args.all else drop_noise(events)
    tl = timeline(shown, call_id)  # the ;1/;2 halves apart: each logs its own events
    assert isinstance(tl, pl.DataFrame)
    diagram = ladder(events, call_id, fold_local=not args.local, noise=args.all)
    if args.ladder:
        print(diagram)
    else:
        # the ladder's title: the call, and what the recording did not see of it
        print(f"{diagram.title}: {tl.height} events")
        rows = [
            [
                "-" if r["offset"] is None else f"+{r['offset']:.3f}s",
                r["event"],
                r["text"],
            ]
            for r in tl.select("offset", "event", "text").iter_rows(named=True)
        ]
        print(table(["offset", "event", "what happened"], rows, right={"offset"}))
    if args.svg:
        print(f"ladder saved to {diagram.save(args.svg)}")
    if args.html:
        print(f"ladder saved to {diagram.save(args.html)}")
    return 0
