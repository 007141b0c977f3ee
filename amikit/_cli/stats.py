"""``amikit stats FILE``: call statistics of a capture or recording."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ._events import add_server_argument, fmt_seconds, load_events, only_server, table

if TYPE_CHECKING:
    import polars as pl

EXAMPLES = """\
amikit stats recordings/pbx1
amikit stats capture.raw --top 5 --format csv
amikit stats recordings/fleet                      # several PBXs: a row per server too
amikit stats recordings/fleet --server pbx-a:5038  # one of them
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="raw AMI capture, text log or recording")
    add_server_argument(parser)
    parser.add_argument("--top", type=int, default=10, help="rows per breakdown (default 10)")
    parser.add_argument(
        "--format", choices=["table", "csv"], default="table", help="table (default) or csv"
    )


SECTIONS = [
    ("server", "by server"),  # only when the recording holds several PBXs
    ("disposition", "by disposition"),
    ("hangup_cause", "by hangup cause"),
    ("dialed", "by number dialed"),
    ("caller", "by caller"),
    ("queue", "by queue"),
    ("hour", "by hour"),
]


def per_server(summary: pl.DataFrame) -> pl.DataFrame | None:
    """The overall figures of each server, as rows ``by == "server"``, ``key`` its name;
    None when the calls come from one server (the output stays as it always was)."""
    import polars as pl

    from ..analysis import stats

    if summary["server"].n_unique() < 2:
        return None
    rows = stats(summary, by=["all"], per_server=True)
    assert isinstance(rows, pl.DataFrame)
    # every call of a PBX recorded without a name has a null server: shown as "-"
    name = pl.col("server").fill_null("-")
    return rows.with_columns(pl.lit("server").alias("by"), name.alias("key")).drop("server")


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from ..analysis import calls, event_rate, stats

    events = only_server(load_events(args.file), args.server)
    summary = calls(events)
    result = stats(summary)
    assert isinstance(result, pl.DataFrame) and isinstance(summary, pl.DataFrame)
    servers = per_server(summary)
    if servers is not None:  # rows of the same shape: by "server", key = its name
        result = pl.concat([result, servers], how="vertical")
    if args.format == "csv":
        print(result.write_csv(), end="")
        return 0
    overall = result.filter(pl.col("by") == "all")
    if overall.height == 0:
        print(f"{args.file}: {events.height:,} events, no calls")
        return 0
    o = overall.row(0, named=True)
    rate = event_rate(events)
    assert isinstance(rate, pl.DataFrame)
    peak = int(rate["events"].max() or 0) if rate.height else 0  # type: ignore[arg-type]  # polars types max() as any literal; int on an int column
    unfinished = (
        f" (and {o['in_progress']} in progress, {o['joined_late']} joined late: not counted)"
        if o["in_progress"] or o["joined_late"]
        else ""
    )
    print(f"{args.file}: {events.height:,} events, {o['calls']} calls{unfinished}")
    print(
        f"answered {o['answered']} of {o['calls']} (ASR {_ratio(o['asr'])}); "
        f"duration mean {fmt_seconds(o['mean_duration'])}, "
        f"median {fmt_seconds(o['p50_duration'])}, p90 {fmt_seconds(o['p90_duration'])}; "
        f"talk time {fmt_seconds(o['total_billsec'])}"
    )
    if rate.height:
        mean = rate["events"].mean()  # a float: the column is a count
        print(f"events per second: peak {peak}, mean {mean:.1f}")  # type: ignore[str-bytes-safe]
    for by, title in SECTIONS:
        part = result.filter(pl.col("by") == by)
        part = part if by == "server" else part.head(args.top)  # every server, always
        if part.height == 0:
            continue
        rows = [
            [
                r["key"],
                str(r["calls"]),
                str(r["answered"]),
                _ratio(r["asr"]),
                fmt_seconds(r["mean_duration"]),
                fmt_seconds(r["p90_duration"]),
                fmt_seconds(r["mean_billsec"]),
                fmt_seconds(r["mean_queue_wait"]) if by == "queue" else "",
            ]
            for r in part.iter_rows(named=True)
        ]
        print(f"\n{title}")
        headers = [by, "calls", "answered", "ASR", "mean dur", "p90 dur", "mean talk",
                   "queue wait"]  # fmt: skip
        print(
            table(
                headers,
                rows,
                right={"calls", "answered", "ASR", "mean dur", "p90 dur", "mean talk"},
            )
        )
    return 0
