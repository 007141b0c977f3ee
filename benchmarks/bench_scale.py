"""Benchmark (issue 12): call analysis on on-disk datasets of 1M to 30M real AMI events.

The datasets are the real captures of tests/data (see ``bench_analysis.base_frame``: the
Asterisk 22 capture, its "kinds" captures and the public samples, 10,000 events, 91 calls)
repeated with every channel id, Local channel name and bridge id re-tagged per copy and
the server times shifted by two minutes per copy, written with the recorder's own
``DatasetWriter`` (``server=/date=`` partitions). They are built in chunks of copies, so
building stays bounded, and cached under ``--cache`` (default ``$TMPDIR/amikit-bench-scale``),
never in git.

Every measurement runs in a fresh subprocess, so each peak RSS is that step's own:

* ``calls(scan(dir))`` + ``stats()``: time and peak RSS;
* the floor: plain ``scan_parquet(dir).group_by("Linkedid")`` of the same run;
* ``load(dir)``: peak RSS against the loaded frame's ``estimated_size()``;
* ``calls(load(dir))``: bytes per event above the loaded frame;
* the result at the largest size equals K x the result on the base capture.

Targets (issue 12): peak RSS <= 1.5 GB at 10M and flat as events grow; time <= 15x the
floor; calls(load) <= 500 B/event above the frame; load() <= 2x estimated_size.

    python benchmarks/bench_scale.py --sizes 1M,3M,10M [--code DIR] [--workers N]

``--code DIR`` measures another checkout of amikit (e.g. ``git archive main`` unpacked
somewhere) on the same datasets: the "before" figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30
BASE_EVENTS = 10_000  # events in bench_analysis.base_frame()
COPIES_PER_CHUNK = 50  # 500,000 events per build step


def _size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * scale)


def _label(events: int) -> str:
    return f"{events / 1e6:g}M" if events >= 1_000_000 else f"{events / 1e3:g}K"


def peak_rss() -> int:
    """This process's peak, or its largest worker's (``--workers``) if that is higher."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, workers) * 1024


def current_rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- building -------------------------------------------------------------------------


def build(cache: Path, events: int) -> Path:
    """The dataset of ``events`` events (a multiple of the base), built once and cached."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_analysis import base_frame, repeated

    from amikit.record._dataset import DatasetWriter

    target = cache / f"events-{_label(events)}"
    done = target / "_complete"
    if done.exists():
        return target
    if target.exists():
        import shutil

        shutil.rmtree(target)
    base = base_frame()
    assert base.height == BASE_EVENTS, base.height
    copies = events // base.height
    writer = DatasetWriter(target, fsync=False)
    start = time.perf_counter()
    for first in range(0, copies, COPIES_PER_CHUNK):
        n = min(COPIES_PER_CHUNK, copies - first)
        writer.write(repeated(base, n * base.height, first=first))
    done.write_text(json.dumps({"events": events, "copies": copies}))
    took = time.perf_counter() - start
    print(f"built {target} ({events:,} events) in {took:.0f} s", file=sys.stderr)
    return target


# -- measuring (each in a fresh process) ----------------------------------------------


def string_views(frame) -> int:  # type: ignore[no-untyped-def]
    """Bytes of the 16-byte views of every string cell, null or not.

    polars stores a String column as one 16-byte view per row plus the bytes of the
    longer strings; ``estimated_size()`` counts the bytes and not the views, so a frame
    of many mostly-null string columns holds several times what it reports.
    """
    import polars as pl

    strings = sum(1 for t in frame.schema.values() if t == pl.String)
    views = 16 * strings * frame.height
    if "extra" in frame.columns:  # a key and a value per entry
        views += 32 * int(frame["extra"].list.len().sum() or 0)
    return views


def child(mode: str, directory: str, code: str, workers: int) -> dict:
    sys.path.insert(0, code)
    import polars as pl

    import amikit
    from amikit.analysis import calls, stats

    out: dict = {"mode": mode, "code": code}
    t0 = time.perf_counter()
    if mode == "floor":
        # the naive "one call per Linkedid" that plain polars stops at
        files = f"{directory}/**/*.parquet"
        result = (
            pl.scan_parquet(files, hive_partitioning=False)
            .filter(pl.col("Linkedid").is_not_null())
            .group_by("Linkedid")
            .agg(pl.len(), pl.col("timestamp").min().alias("t0"), pl.col("timestamp").max())
            .collect()
        )
        out["rows"] = result.height
    elif mode == "calls":
        kwargs = {"workers": workers} if workers > 1 else {}
        summary = calls(amikit.scan(directory), **kwargs)
        summary = summary.collect() if isinstance(summary, pl.LazyFrame) else summary
        table = stats(summary)
        out["calls"] = summary.height
        out["stats_rows"] = table.height
    elif mode == "load":
        frame = amikit.load(directory)
        out["events"] = frame.height
        out["frame_bytes"] = frame.estimated_size()
        out["view_bytes"] = string_views(frame)
    elif mode == "calls_load":
        frame = amikit.load(directory)
        out["events"] = frame.height
        out["frame_bytes"] = frame.estimated_size()
        out["rss_after_load"] = current_rss()
        out["peak_after_load"] = peak_rss()
        t0 = time.perf_counter()
        out["calls"] = calls(frame).height
    elif mode == "check":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_analysis import base_frame

        kwargs = {"workers": workers} if workers > 1 else {}
        result = calls(amikit.scan(directory), **kwargs)
        out["equal"] = k_times_base(result, calls(base_frame()))
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss"] = peak_rss()
    return out


# the columns of a call that do not depend on the re-tagged ids or the shifted times
_INVARIANT = [
    "duration",
    "billsec",
    "ring_time",
    "caller_num",
    "caller_name",
    "dialed",
    "answered",
    "disposition",
    "hangup_cause",
    "hangup_cause_txt",
    "n_channels",
    "transfers",
    "queue",
    "queue_wait",
    "n_events",
]


def k_times_base(big, base) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``big`` holds each call of ``base`` exactly K times (K = copies)."""
    import polars as pl

    if isinstance(big, pl.LazyFrame):
        big = big.collect()
    k, rest = divmod(big.height, base.height)
    if rest:
        return False

    def counted(frame: pl.DataFrame) -> pl.DataFrame:
        return (
            frame.select(_INVARIANT)
            .with_columns(pl.col(pl.Float64).round(6))
            .group_by(_INVARIANT)
            .agg(pl.len().alias("n"))
            .sort(_INVARIANT, nulls_last=True)
        )

    want = counted(base).with_columns(pl.col("n") * k)
    return counted(big).equals(want)


def measure(mode: str, directory: Path, code: Path, workers: int = 1) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--dir", str(directory)]
    cmd += ["--code", str(code), "--workers", str(workers)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"mode": mode, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1M,3M,10M", help="comma-separated, e.g. 1M,3M,10M,30M")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "amikit-bench-scale"))
    parser.add_argument("--code", default=str(ROOT), help="the amikit checkout to measure")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--modes", default="floor,calls,load,calls_load,check")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.dir, args.code, args.workers)))
        return 0

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"code measured: {args.code}")
    modes = args.modes.split(",")
    sizes = [_size(s) for s in args.sizes.split(",")]
    cache = Path(args.cache)
    ok = True
    for events in sizes:
        directory = build(cache, events)
        row = {m: measure(m, directory, Path(args.code), args.workers) for m in modes}
        label = _label(events)
        for m, r in row.items():
            if "error" in r:
                print(f"{label:>4} {m:<10} FAILED: {r['error']}")
                ok = False
        floor, summary = row.get("floor", {}), row.get("calls", {})
        if "seconds" in floor and "seconds" in summary:
            ratio = summary["seconds"] / floor["seconds"]
            rss = summary["peak_rss"] / GIB
            print(
                f"{label:>4} calls(scan)+stats {summary['seconds']:7.2f} s {rss:6.2f} GiB"
                f" | floor group_by {floor['seconds']:6.3f} s {floor['peak_rss'] / GIB:5.2f} GiB"
                f" | ratio {ratio:5.1f}x (target <= 15x)"
                f" | calls {summary.get('calls', 0):,}"
            )
            ok &= ratio <= 15 and (events > 10_000_000 or summary["peak_rss"] <= 1.5e9)
        loaded = row.get("load", {})
        if "frame_bytes" in loaded:
            times = loaded["peak_rss"] / loaded["frame_bytes"]
            print(
                f"{label:>4} load()            {loaded['seconds']:7.2f} s"
                f" peak {loaded['peak_rss'] / GIB:5.2f} GiB, frame"
                f" {loaded['frame_bytes'] / GIB:5.2f} GiB -> {times:4.1f}x (target <= 2x)"
            )
            ok &= times <= 2
            held = loaded["frame_bytes"] + loaded.get("view_bytes", 0)
            print(
                f"{label:>4} load()            frame with its string views"
                f" {held / GIB:5.2f} GiB -> peak is {loaded['peak_rss'] / held:4.1f}x that"
            )
        both = row.get("calls_load", {})
        if "rss_after_load" in both:
            above = (both["peak_rss"] - both["rss_after_load"]) / both["events"]
            print(
                f"{label:>4} calls(load())     {both['seconds']:7.2f} s"
                f" peak {both['peak_rss'] / GIB:5.2f} GiB: {above:6.0f} B/event above the"
                " loaded frame (target <= 500)"
            )
            ok &= above <= 500
        check = row.get("check", {})
        if "equal" in check:
            print(f"{label:>4} result == K x base capture: {check['equal']}")
            ok &= bool(check["equal"])
        sys.stdout.flush()
    print(f"load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
