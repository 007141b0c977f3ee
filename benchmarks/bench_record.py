"""Recording benchmarks: capture -> Parquet conversion, live recording, sizes.

Figures are ratios against baselines measured in the same run on the same machine:

* convert: ``amikit convert`` of a >= 100 MB raw capture (built by
  ``make_big_capture.py`` from the real captures, ids re-numbered) in MB/s (three runs,
  each shown, with process CPU-seconds per 100 MB: less noisy on a shared machine),
  against a plain ``read()`` + ``bytes.split(b"\\r\\n\\r\\n")`` of the same file (the
  floor of any converter), and against the codec path (``Parser().feed`` + ``message_row`` per
  message, measured on a slice);
* sink: messages/s through :class:`RecordingSink` (text log + Parquet) fed from one thread;
* live: events/s from the test AMI server through :class:`amikit.AMIClient` into a
  :class:`amikit.Recorder`, with the count of events lost (must be 0) -- only when the client
  is available;
* sizes: Parquet dataset vs the AMI text of the same messages.

Usage: ``python benchmarks/bench_record.py [--mb 120] [--live-events 300000]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amikit.protocol import Parser  # noqa: E402
from amikit.record import convert, load  # noqa: E402
from amikit.record._recorder import RecordingSink  # noqa: E402
from amikit.record._schema import message_row, rows_to_frame  # noqa: E402

BIG = ROOT / "benchmarks" / "big_capture.raw"


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_convert(mb: float, work: Path) -> dict[str, float]:
    if not BIG.exists() or BIG.stat().st_size < mb * 1e6 * 0.95:
        from make_big_capture import build  # type: ignore[import-not-found]

        BIG.write_bytes(build(int(mb * 1e6)))
    size = BIG.stat().st_size
    mbytes = size / 1e6

    def baseline() -> None:
        data = BIG.read_bytes()
        data.split(b"\r\n\r\n")

    t_base = best(baseline)
    outs = []

    def run_convert() -> None:
        out = work / f"ds{len(outs)}"
        outs.append(out)
        convert(BIG, out)

    runs = []
    cpus = []
    for _ in range(3):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        run_convert()
        runs.append(time.perf_counter() - wall0)
        cpus.append(time.process_time() - cpu0)  # all threads of this process
    t_conv = min(runs)
    cpu_conv = min(cpus)
    out = outs[-1]
    rows = load(out).height
    # codec path (a Python loop per message) on a 10 MB slice, scaled
    data = BIG.read_bytes()
    cut = data.find(b"\r\n\r\n", 10_000_000) + 4
    piece = data[:cut]

    def codec() -> None:
        rows_to_frame(message_row(m) for m in Parser().feed(piece))

    t_codec = best(codec, 1) * (size / len(piece))
    parquet = dir_size(out)
    print(f"capture: {mbytes:.1f} MB, {rows:,} messages")
    print(f"baseline read+split : {t_base:6.2f} s  {mbytes / t_base:8.1f} MB/s")
    print(
        f"amikit convert      : {t_conv:6.2f} s  {mbytes / t_conv:8.1f} MB/s  "
        f"({t_conv / t_base:.1f}x the baseline's time)"
    )
    print(
        "  runs              : "
        + ", ".join(f"{mbytes / t:.1f}" for t in runs)
        + " MB/s; "
        + ", ".join(f"{c * 100 / mbytes:.2f}" for c in cpus)
        + " CPU-s/100 MB"
    )
    print(
        f"  convert CPU time  : {cpu_conv:6.2f} s of process CPU per run, "
        f"{cpu_conv * 100 / mbytes:.2f} CPU-s per 100 MB ({mbytes / cpu_conv:.1f} MB per "
        f"CPU-second; machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"codec per message   : {t_codec:6.2f} s  {mbytes / t_codec:8.1f} MB/s  "
        f"(estimated from a 10 MB slice; convert is {t_codec / t_conv:.1f}x faster)"
    )
    print(
        f"sizes: text {mbytes:.1f} MB, Parquet {parquet / 1e6:.1f} MB "
        f"(text/Parquet = {size / parquet:.1f})"
    )
    bench_stages(mbytes, work)
    return {"convert_mb_s": mbytes / t_conv, "base_mb_s": mbytes / t_base}


def cpu_and_wall(fn):  # type: ignore[no-untyped-def]
    """(result, process CPU seconds, wall seconds) of one call."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = fn()
    return result, time.process_time() - cpu0, time.perf_counter() - wall0


def bench_stages(mbytes: float, work: Path) -> None:
    """Where convert's CPU goes: parsing vs Parquet writing, each alone, one after the other
    (no overlap), then the Parquet writer's settings on the same rows (size and CPU)."""
    import polars as pl

    from amikit.record._dataset import DatasetWriter
    from amikit.record._load import iter_text_rows

    # as convert does it: string columns handed over as categoricals
    frames, cpu_parse, wall_parse = cpu_and_wall(
        lambda: list(iter_text_rows(BIG, categorical=True))
    )
    writer = DatasetWriter(work / "stage", fsync=False)
    _, cpu_write, wall_write = cpu_and_wall(lambda: [writer.write(f) for f in frames])
    strings = [f.with_columns(pl.col(pl.Categorical).cast(pl.String)) for f in frames]
    plain = DatasetWriter(work / "stage-strings", fsync=False)
    _, cpu_plain, _ = cpu_and_wall(lambda: [plain.write(f) for f in strings])
    per100 = 100 / mbytes
    print(
        f"  stages alone      : parse {cpu_parse * per100:.2f} CPU-s/100 MB "
        f"({wall_parse * per100:.2f} s wall), Parquet write {cpu_write * per100:.2f} CPU-s/100 MB "
        f"({wall_write * per100:.2f} s wall; {cpu_plain * per100:.2f} CPU-s for the same rows "
        f"as String columns)"
    )
    print("  Parquet settings  : size MB   write CPU-s/100 MB   (same rows; zstd-1 is used)")
    settings: list[tuple[str, dict[str, object]]] = [
        ("zstd-1 (used)", {"compression": "zstd", "compression_level": 1}),
        ("zstd-3 (polars default)", {"compression": "zstd", "compression_level": 3}),
        ("lz4", {"compression": "lz4"}),
        ("snappy", {"compression": "snappy"}),
        ("zstd-1, no statistics", {"compression": "zstd", "statistics": False}),
    ]
    settings[-1][1]["compression_level"] = 1
    best_cpu = dict.fromkeys([label for label, _ in settings], float("inf"))
    sizes: dict[str, int] = {}
    for _ in range(3):  # interleaved rounds, best of each: the machine is shared
        for label, options in settings:
            target = work / "settings"
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()

            def write_all(target: Path = target, options: dict[str, object] = options) -> None:
                for i, f in enumerate(frames):
                    f.write_parquet(target / f"{i}.parquet", **options)  # type: ignore[arg-type]

            _, cpu, _ = cpu_and_wall(write_all)
            best_cpu[label] = min(best_cpu[label], cpu)
            sizes[label] = dir_size(target)
    for label, _ in settings:
        print(f"    {label:24s}: {sizes[label] / 1e6:7.1f}   {best_cpu[label] * per100:8.2f}")


def bench_sink(work: Path, n: int) -> None:
    messages = Parser().feed((ROOT / "tests/data/asterisk22/mixed60.raw").read_bytes())
    copies = []
    now = datetime.now(timezone.utc)
    seq = 0
    while len(copies) < n:
        for m in messages:
            seq += 1
            c = type(m)(m.raw)
            c.seq, c.connection, c.received_at = seq, 1, now
            copies.append(c)
    copies = copies[:n]
    out = work / "sink"
    sink = RecordingSink(out, server="bench:0")
    sink.start()
    cpu0 = time.process_time()
    start = time.perf_counter()
    for m in copies:
        sink.put(m)
    t_put = time.perf_counter() - start
    sink.stop()
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    got = load(out).height
    text = (out / "ami-log.txt").stat().st_size
    parquet = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    print(
        f"sink: {n:,} messages put in {t_put:.2f} s ({n / t_put:,.0f}/s on the caller), "
        f"all written in {total:.2f} s ({n / total:,.0f}/s); loaded {got:,}; lost {n - got}; "
        f"{cpu:.2f} CPU-s ({n / cpu:,.0f} messages per CPU-second)"
    )
    print(
        f"sizes: text log {text / 1e6:.1f} MB, Parquet {parquet / 1e6:.1f} MB "
        f"(text/Parquet = {text / parquet:.1f})"
    )


_SERVER_CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from amikit.protocol import Parser
from amikit.sim import AMIServer
n, batch = int(sys.argv[2]), 500
msgs = Parser().feed(open(sys.argv[3], "rb").read())
frames = [m.raw for m in msgs if m.is_event]
blobs = []
i = 0
while len(blobs) * batch < n:
    blobs.append(b"".join(frames[(i + k) % len(frames)] for k in range(batch)))
    i += batch
with AMIServer() as server:
    print(server.port, flush=True)
    sys.stdin.readline()  # "go": the client is logged in and subscribed
    for blob in blobs:
        server.broadcast(blob)
    print(len(blobs) * batch, flush=True)
    sys.stdin.readline()
"""


def bench_live(work: Path, n: int) -> None:
    """The test AMI server in its own process; client + Recorder in this one."""
    import subprocess

    try:
        from amikit import AMIClient
        from amikit.record import Recorder
    except ImportError:
        print("live: skipped (amikit.client not available on this branch)")
        return
    capture = ROOT / "tests/data/asterisk22/mixed60.raw"
    child = subprocess.Popen(
        [sys.executable, "-c", _SERVER_CHILD, str(ROOT), str(n), str(capture)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    out = work / "live"
    try:
        port = int(child.stdout.readline())  # type: ignore[union-attr]
        client = AMIClient("127.0.0.1", port, "admin", "amikit", ping_interval=0)
        received = threading.Event()
        count = [0]
        target = (n // 500) * 500 + 1  # + FullyBooted after the login

        def counter(_msg) -> None:  # type: ignore[no-untyped-def]
            count[0] += 1
            if count[0] >= target:
                received.set()

        sub = client.on("*", counter, thread="loop", lossless=True)
        rec = Recorder(client, out).start()
        client.connect()
        cpu0 = time.process_time()
        start = time.perf_counter()
        child.stdin.write("go\n")  # type: ignore[union-attr]
        child.stdin.flush()  # type: ignore[union-attr]
        sent = int(child.stdout.readline())  # type: ignore[union-attr]
        received.wait(timeout=600)
        t_recv = time.perf_counter() - start
        rec.stop()
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        sub.cancel()
        client.close()
    finally:
        child.stdin.write("stop\n")  # type: ignore[union-attr]
        child.stdin.close()  # type: ignore[union-attr]
        child.wait(timeout=30)
        child.stdout.close()  # type: ignore[union-attr]
    got = load(out).height - 1  # the FullyBooted that follows the login is not ours
    print(
        f"live: {sent:,} events sent by the server (own process); client got {count[0] - 1:,} "
        f"in {t_recv:.2f} s ({(count[0] - 1) / t_recv:,.0f}/s); recorder wrote {got:,} by "
        f"{total:.2f} s ({got / total:,.0f}/s); lost {sent - got}; recorder process "
        f"{cpu:.2f} CPU-s"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=120)
    ap.add_argument("--sink-messages", type=int, default=300_000)
    ap.add_argument("--live-events", type=int, default=300_000)
    ap.add_argument("--skip-convert", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    work = Path(tempfile.mkdtemp(prefix="amikit-bench-"))
    try:
        if not args.skip_convert:
            bench_convert(args.mb, work)
        bench_sink(work, args.sink_messages)
        bench_live(work, args.live_events)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
