"""How many events a second the simulated PBX produces from one core.

Three figures, measured in the same run:

* ``engine``: the call scheduler alone renders events in virtual time (no sockets);
* ``flood``: ``PBX(flood=True)`` serving one plain socket reader in a separate process (the
  reader only splits frames, so the figure is the PBX's: scheduler + AMIServer + TCP);
* ``baseline``: the same AMIServer replaying pre-rendered real capture bytes as fast as it can
  (``replay(..., speed=inf)``): what serving costs without generating anything.

The issue asks for >= 20,000 events/s from one core in flood mode.

Run: ``python benchmarks/bench_sim.py [--seconds 5]``
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amikit.sim import PBX, replay  # noqa: E402
from amikit.sim._scenarios import DEFAULT_MIX, SCENARIOS  # noqa: E402
from amikit.sim._scheduler import CallScheduler  # noqa: E402


def bench_engine(seconds: float) -> float:
    engine = CallScheduler(
        seed=1,
        start_time=1.8e9,
        calls_per_minute=6000,
        mix=DEFAULT_MIX,
        scenarios=SCENARIOS,
    )
    count = 0
    virtual = 1.8e9
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        virtual += 1.0
        count += len(engine.advance(virtual))
    return count / (time.perf_counter() - start)


def _reader(host: str, port: int, seconds: float, result: mp.Queue) -> None:
    sock = socket.create_connection((host, port))
    sock.settimeout(1.0)
    sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: amikit\r\n\r\n")
    buf = b""
    frames = 0
    start = last = None
    while start is None or last - start < seconds:
        try:
            data = sock.recv(1 << 20)
        except TimeoutError:
            break  # the stream ended (a finite replay)
        if not data:
            break
        last = time.perf_counter()
        if start is None:
            start = last
        buf += data
        parts = buf.split(b"\r\n\r\n")
        frames += len(parts) - 1
        buf = parts[-1]
    sock.close()
    elapsed = (last - start) if start is not None else 0.0
    result.put(frames / elapsed if elapsed else 0.0)


def _read_from(server: object, seconds: float) -> float:
    result: mp.Queue = mp.Queue()
    proc = mp.Process(target=_reader, args=(server.host, server.port, seconds, result))
    proc.start()
    rate = result.get(timeout=seconds + 60)
    proc.join(10)
    return rate


def bench_flood(seconds: float) -> float:
    with PBX(calls_per_minute=600, seed=1, flood=True) as pbx:
        return _read_from(pbx, seconds)


def bench_baseline(seconds: float) -> float:
    with replay(ROOT / "tests" / "data" / "asterisk22" / "mixed60.raw", speed=math.inf) as rp:
        return _read_from(rp, min(seconds, 1.0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    engine = bench_engine(args.seconds)
    flood = bench_flood(args.seconds)
    baseline = bench_baseline(args.seconds)
    print(f"engine only         : {engine:>10,.0f} events/s")
    print(f"flood over TCP      : {flood:>10,.0f} events/s  (target >= 20,000)")
    print(f"baseline (replay)   : {baseline:>10,.0f} events/s")
    print(f"flood / baseline    : {flood / baseline:>10.2f}")
    return 0 if flood >= 20_000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
