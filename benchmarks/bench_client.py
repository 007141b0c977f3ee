"""End-to-end client throughput: events/s from a flooding server to subscribers.

Run from the repository root::

    python benchmarks/bench_client.py               # 500,000 events per scenario
    python benchmarks/bench_client.py --events 100000 --repeat 1   # a quick look

Strategy
--------
* **Traffic.** Real events: every event of the Asterisk 22 capture shipped in
  ``tests/data/asterisk22/mixed60.raw`` (Newchannel, VarSet, Newexten, Dial*, Hangup, CEL,
  ...), repeated until ``--events`` is reached. The bytes are encoded once, before the clock
  starts, into chunks of about 64 KiB.
* **Two processes.** The :class:`~amikit.sim.AMIServer` runs in *another process*
  (``multiprocessing``, spawn), so its writing does not share the client's GIL. A ``Flood``
  action makes it answer ``Success`` and then write the chunks over loopback as fast as the
  socket drains, followed by one ``FloodComplete`` event. The client scenario measures from
  sending ``Flood`` to receiving ``FloodComplete``.
* **Scenarios**, each in a fresh process (so peak memory is its own):

  - ``socket``: baseline: a bare socket reads the flood and looks for the marker (no parsing);
  - ``parse``: baseline: :class:`~amikit.protocol.Parser` over the same chunks, no socket;
  - ``noop``: an :class:`~amikit.AMIClient` with a no-op ``on("*", ..., thread="loop")``;
  - ``lossless-queue``: ``client.events("*", lossless=True)`` consumed by the main thread;
  - ``lossless-worker``: ``on("*", callback, thread="caller", lossless=True)`` from a thread
    with no loop, so a worker thread of the subscription runs the callback.

  Each reports events/s, the ratio to the ``socket`` baseline of the same run, CPU seconds
  (user+sys of the client process, also as a percentage of wall time), events per CPU
  second (less sensitive to other load on a shared machine) and the peak RSS of the client
  process (``parse`` holds the whole flood in memory, the others stream it). The lossless
  scenarios also check that every event arrived (count equal, ``stats.dropped == 0``); a
  loss is printed as ``LOST``.
* Best of ``--repeat`` runs per scenario. Absolute numbers depend on the machine and its
  load; the ratios to the baselines of the same run much less.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "tests" / "data" / "asterisk22" / "mixed60.raw"
MARKER = b"Event: FloodComplete\r\n"


def _corpus_events() -> list[bytes]:
    sys.path.insert(0, str(ROOT))
    from amikit.protocol import Parser, RemoteProtocolError
    from amikit.record._files import read_capture

    try:
        messages = Parser().feed(read_capture(CAPTURE))
    except RemoteProtocolError as exc:
        messages = exc.messages
    return [m.raw for m in messages if m.is_event]


def build_chunks(n: int, chunk_size: int = 65536) -> list[bytes]:
    """``n`` real events, encoded once, cut into chunks of about ``chunk_size`` bytes."""
    events = _corpus_events()
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for i in range(n):
        raw = events[i % len(events)]
        current.append(raw)
        size += len(raw)
        if size >= chunk_size:
            chunks.append(b"".join(current))
            current, size = [], 0
    if current:
        chunks.append(b"".join(current))
    return chunks


# -- the server process -------------------------------------------------------------------


def serve(n: int, port_pipe: Any, stop: Any) -> None:
    sys.path.insert(0, str(ROOT))
    import asyncio

    from amikit.sim import AMIServer

    chunks = build_chunks(n)
    marker = MARKER + b"Count: %d\r\n\r\n" % n

    async def flood_task(session: Any) -> None:
        for chunk in chunks:
            await session.send_bulk(chunk)
        await session.send_bulk(marker)

    def flood(session: Any, msg: Any) -> list[Any]:
        task = asyncio.get_running_loop().create_task(flood_task(session))
        session._action_tasks.add(task)
        task.add_done_callback(session._action_tasks.discard)
        return [[("Response", "Success"), ("Message", "Flood follows")]]

    with AMIServer() as server:
        server.register_action("Flood", flood)
        port_pipe.send(server.port)
        stop.wait()


# -- client scenarios (each in its own process) -------------------------------------------


def _usage() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_scenario(kind: str, port: int, n: int, out: Any) -> None:
    sys.path.insert(0, str(ROOT))
    result: dict[str, Any] = {"kind": kind, "n": n, "lost": 0}
    if kind == "parse":
        from amikit.protocol import Parser

        chunks = build_chunks(n)
        cpu0, t0 = _usage(), time.perf_counter()
        parser = Parser(banner=False)
        count = 0
        for chunk in chunks:
            count += len(parser.feed(chunk))
        result.update(seconds=time.perf_counter() - t0, cpu=_usage() - cpu0, received=count)
    elif kind == "socket":
        result.update(_socket_baseline(port, n))
    else:
        result.update(_client_run(kind, port, n))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.send(result)


def _socket_baseline(port: int, n: int) -> dict[str, Any]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"Action: Login\r\nUsername: admin\r\nSecret: amikit\r\nEvents: off\r\n\r\n"
        b"Action: Flood\r\nActionID: 1\r\n\r\n"
    )
    cpu0, t0 = _usage(), time.perf_counter()
    tail = b""
    total = 0
    while True:
        data = sock.recv(262144)
        if not data:
            raise RuntimeError("server closed the connection")
        total += len(data)
        if MARKER in tail + data:
            break
        tail = data[-64:]
    seconds = time.perf_counter() - t0
    sock.close()
    return {"seconds": seconds, "cpu": _usage() - cpu0, "received": n, "bytes": total}


def _client_run(kind: str, port: int, n: int) -> dict[str, Any]:
    from amikit import AMIClient

    client = AMIClient("127.0.0.1", port, "admin", "amikit", timeout=60)
    client.connect()
    done = threading.Event()
    count = [0]
    stream = None
    if kind == "noop":

        def noop(msg: Any) -> None:
            pass

        client.on("*", noop)
        client.on("FloodComplete", lambda m: done.set())
    elif kind == "lossless-worker":

        def counting(msg: Any) -> None:
            count[0] += 1
            if msg.raw.startswith(MARKER):
                done.set()

        client.on("*", counting, thread="caller", lossless=True)
    elif kind == "lossless-queue":
        stream = client.events("*", lossless=True, timeout=120)
    else:
        raise ValueError(kind)
    cpu0, t0 = _usage(), time.perf_counter()
    client.action("Flood")
    if stream is not None:
        for msg in stream:
            count[0] += 1
            if msg.raw.startswith(MARKER):
                break
    else:
        done.wait(300)
    seconds = time.perf_counter() - t0
    cpu = _usage() - cpu0
    stats = client.stats
    client.close()
    delivered = count[0] - 1 if kind != "noop" else n  # minus the marker
    lost = n - delivered if kind != "noop" else stats.dropped
    return {
        "seconds": seconds,
        "cpu": cpu,
        "received": delivered,
        "lost": max(lost, 0) + stats.dropped,
        "dropped": stats.dropped,
    }


def _spawn(ctx: Any, kind: str, port: int, n: int) -> dict[str, Any]:
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=run_scenario, args=(kind, port, n, send))
    proc.start()
    result = recv.recv()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=500_000, help="events per run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per scenario (best kept)")
    args = parser.parse_args()
    n = args.events
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    server = ctx.Process(target=serve, args=(n, send, stop), daemon=True)
    server.start()
    port = recv.recv()
    print(
        f"amikit client benchmark: {n:,} real Asterisk 22 events per run, best of "
        f"{args.repeat}; server in another process on 127.0.0.1:{port}"
    )
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    kinds = ["socket", "parse", "noop", "lossless-queue", "lossless-worker"]
    best: dict[str, dict[str, Any]] = {}
    for _ in range(args.repeat):
        for kind in kinds:
            r = _spawn(ctx, kind, port, n)
            if kind not in best or r["seconds"] < best[kind]["seconds"]:
                best[kind] = r
    stop.set()
    server.join(10)
    base = n / best["socket"]["seconds"]
    print()
    print(
        f"{'scenario':<17}{'events/s':>12}{'vs socket':>11}{'CPU s':>8}{'CPU %':>7}"
        f"{'events/CPU-s':>14}{'peak RSS MB':>13}  lost"
    )
    for kind in kinds:
        r = best[kind]
        rate = n / r["seconds"]
        lost = (
            "-"
            if kind in ("socket", "parse")
            else ("none" if not r["lost"] else f"LOST {r['lost']:,}")
        )
        per_cpu = n / r["cpu"] if r["cpu"] > 0 else float("nan")
        print(
            f"{kind:<17}{rate:>12,.0f}{rate / base:>10.2f}x{r['cpu']:>8.2f}"
            f"{100 * r['cpu'] / r['seconds']:>6.0f}%{per_cpu:>14,.0f}"
            f"{r['peak_rss_mb']:>13.1f}  {lost}"
        )
    target = 100_000
    worst = min(n / best[k]["seconds"] for k in ("noop", "lossless-queue"))
    verdict = "meets" if worst >= target else "MISSES"
    print(
        f"\nslowest of noop/lossless-queue: {worst:,.0f} events/s: {verdict} the "
        f"{target:,}/s target (a busy PBX sends about 3,000/s)"
    )


if __name__ == "__main__":
    main()
