"""``amikit calls FILE``: one line per call of a capture or recording."""

from __future__ import annotations

import argparse

from ._events import (
    add_server_argument,
    calls_footer,
    fmt_seconds,
    fmt_time,
    load_events,
    only_server,
    table,
)

EXAMPLES = """\
amikit calls recordings/pbx1
amikit calls capture.raw --format csv > calls.csv
amikit calls capture.raw --limit 10
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="raw AMI capture, text log or recording")
    add_server_argument(parser)
    parser.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table for people (default), csv or json for programs (all columns)",
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="show at most this many calls (0: all)"
    )


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from ..analysis import calls, outcome_text

    summary = calls(only_server(load_events(args.file), args.server))
    assert isinstance(summary, pl.DataFrame)
    if args.limit:
        summary = summary.head(args.limit)
    if args.format == "csv":
        print(
            summary.with_columns(pl.col("linkedids", "channels").list.join(" ")).write_csv(), end=""
        )
        return 0
    if args.format == "json":
        print(summary.write_json())
        return 0
    rows = []
    for i, c in enumerate(summary.iter_rows(named=True), 1):
        who = f"{c['caller_num'] or '?'} -> {c['dialed'] or '?'}"
        cause = c["hangup_cause"] or "-"
        if c["hangup_cause_txt"]:
            cause = f"{cause} {c['hangup_cause_txt']}"
        if c["in_progress"]:  # a leg that hung up is not the call's end (as in the demo)
            cause = "-"
        rows.append(
            [
                str(i),
                fmt_time(c["start"]),
                c["call_id"],
                who,
                outcome_text(c),
                fmt_seconds(c["duration"]),
                fmt_seconds(c["billsec"]),
                c["answered_by"] or "-",
                cause,
                str(c["n_channels"]),
            ]
        )
    headers = ["#", "start", "call id", "from -> to", "disposition", "duration", "billsec",
               "answered by", "hangup cause", "chans"]  # fmt: skip
    print(table(headers, rows, right={"#", "duration", "billsec", "chans"}))
    print("\n" + calls_footer(summary))
    return 0
