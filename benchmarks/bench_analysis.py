"""Benchmark: calls() + stats() on >= 1,000,000 real AMI events.

The events are the real captures shipped in tests/data (the Asterisk 22 capture with
its seven "kinds" captures and the public samples), repeated with every channel id,
Local channel name and bridge id re-numbered per copy and the server times shifted, so
each copy's calls are distinct calls. The target (issue 6): calls() + stats() within
10 s and 4 GB peak memory on the CI machine.

Also measured in the same run, as a baseline: the naive "one call per Linkedid" polars
group_by that the peers stop at; and drop_noise(), collapse(), and the live CallTracker
(on a slice, as events per second).

    python benchmarks/bench_analysis.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amikit.analysis import CallTracker, calls, collapse, drop_noise, stats  # noqa: E402
from amikit.analysis._rules import LINK_KEYS, PLACEHOLDER_IDS  # noqa: E402
from amikit.protocol import Parser  # noqa: E402
from amikit.record._files import read_capture  # noqa: E402
from amikit.record._schema import message_row, rows_to_frame  # noqa: E402

DATA = ROOT / "tests" / "data"


def base_frame() -> pl.DataFrame:
    paths = [
        DATA / "asterisk22" / "mixed60.raw",
        *sorted((DATA / "asterisk22" / "kinds").glob("*.raw")),
        *sorted((DATA / "ami-samples").glob("*.ami")),
    ]
    frames = []
    for path in paths:
        messages = Parser().feed(read_capture(path))
        frames.append(
            rows_to_frame(
                message_row(m, server=path.name, connection=1, seq=i)
                for i, m in enumerate(messages, 1)
            )
        )
    return pl.concat(frames)


def repeated(base: pl.DataFrame, events: int, first: int = 0) -> pl.DataFrame:
    """``events`` events: copies ``first``, ``first + 1`` ... of ``base``, each re-tagged."""
    copies = -(-events // base.height)
    ids = [c for c in base.columns if c.lower() in LINK_KEYS or c == "BridgeUniqueid"]
    chans = [c for c in base.columns if c.endswith("Channel")]
    span = pl.duration(minutes=2)
    keys = sorted(LINK_KEYS)
    placeholders = sorted(PLACEHOLDER_IDS)
    parts = []
    lf = base.lazy()
    for k in range(first, first + copies):
        tag = f"r{k}-"
        parts.append(
            lf.with_columns(
                *[
                    pl.when(pl.col(c).is_in(placeholders))
                    .then(pl.col(c))
                    .otherwise(pl.lit(tag) + pl.col(c))
                    .alias(c)
                    for c in ids
                ],
                *[
                    pl.col(c).str.replace(r"-([0-9a-fA-F]+)(;[12])?$", f"-{k:x}x$1$2")
                    for c in chans
                ],
                pl.col("timestamp") + span * k,
                # ids kept in `extra` (AMI 1.x UniqueID, SwapUniqueid ...) too
                pl.col("extra").list.eval(
                    pl.struct(
                        pl.element().struct.field("key"),
                        pl.when(
                            pl.element().struct.field("key").str.to_lowercase().is_in(keys)
                            & ~pl.element().struct.field("value").is_in(placeholders)
                        )
                        .then(pl.lit(tag) + pl.element().struct.field("value"))
                        .otherwise(pl.element().struct.field("value"))
                        .alias("value"),
                    )
                ),
                pl.col("seq") + k * base.height,
            )
        )
    # one chunk per column, as a frame read from one Parquet file would be
    return pl.concat(parts).head(max(events, base.height)).collect().rechunk()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds:8.2f} s")
    return result, seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tracker-events", type=int, default=200_000)
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    base = base_frame()
    print(f"base: {base.height:,} real events from {base['server'].n_unique()} captures")
    df, _ = timed("build the test frame (not timed below)", repeated, base, args.events)
    print(f"frame: {df.height:,} events, {df.estimated_size() / 2**20:,.0f} MiB in memory")
    rss_before = peak_rss_mb()

    _, naive_s = timed(
        "baseline: naive group_by(Linkedid)",
        lambda f: (
            f.lazy()
            .filter(pl.col("Linkedid").is_not_null())
            .group_by("Linkedid")
            .agg(pl.len(), pl.col("timestamp").min().alias("t0"), pl.col("timestamp").max())
            .collect()
        ),
        df,
    )
    summary, calls_s = timed("calls()", calls, df)
    table, stats_s = timed("stats(calls)", stats, summary)
    total = calls_s + stats_s
    peak = peak_rss_mb()
    expected = -(-df.height // base.height) * calls(base).height
    print(f"calls: {summary.height:,} (expected {expected:,}); stats rows: {table.height:,}")
    print(
        f"calls() + stats(): {total:.2f} s  (target <= 10 s)  -> {'OK' if total <= 10 else 'SLOW'}"
    )
    print(f"ratio calls()+stats() / naive group_by: {total / naive_s:.1f}x")
    print(
        f"peak RSS: {peak:,.0f} MiB (after building the frame: {rss_before:,.0f} MiB; "
        f"target <= 4096 MiB) -> {'OK' if peak <= 4096 else 'TOO BIG'}"
    )

    timed("drop_noise()", drop_noise, df)
    timed("collapse()", collapse, df)

    subset = df.head(args.tracker_events)
    rows = subset.to_dicts()
    tracker = CallTracker()
    start = time.perf_counter()
    for row in rows:
        row["extra"] = row["extra"] or []
        tracker.feed_row(row)
    live = time.perf_counter() - start
    print(f"CallTracker.feed_row: {len(rows) / live:,.0f} events/s over {len(rows):,} events")
    print(f"peak RSS at the end: {peak_rss_mb():,.0f} MiB")
    print(f"load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0 if total <= 10 and peak <= 4096 else 1


if __name__ == "__main__":
    raise SystemExit(main())
