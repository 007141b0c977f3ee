"""Cost of the live widgets, against baselines measured in the same run.

    python benchmarks/bench_widgets.py [--repeat N]

Feeds the real Asterisk 22 capture (tests/data/asterisk22/mixed60.raw, 5,477 messages,
repeated N times) through:

* a plain ``deque.append`` (the floor: what any ring buffer costs),
* ``EventStream.feed`` (ring buffer + counters + throttle poke; runs on the client's thread),
* ``CallTracker.feed`` alone, and ``CallBoard.feed`` (tracker + per-channel state),

and times one render of each view (what the render thread does at most 4 times a second),
with the HTML payload size. No widget front end is attached (the comm is a no-op).
"""

from __future__ import annotations

import argparse
import time
from collections import deque
from pathlib import Path

from amikit.jupyter import EventStream
from amikit.protocol import Parser
from amikit.record._files import read_capture

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT / "tests" / "data" / "asterisk22" / "mixed60.raw"


def per_event(seconds: float, n: int) -> str:
    return f"{seconds / n * 1e6:8.2f} µs/event  ({n / seconds:>10,.0f} events/s)"


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="copies of the capture fed")
    args = parser.parse_args()
    messages = Parser().feed(read_capture(CAPTURE)) * args.repeat
    n = len(messages)
    print(f"{n:,} messages (mixed60.raw x {args.repeat})\n")

    ring: deque = deque(maxlen=2000)
    base = best(lambda: [ring.append(m) for m in messages])
    print(f"baseline deque.append         {per_event(base, n)}")

    def feed_stream() -> EventStream:
        stream = EventStream(buffer=2000, rate=4.0)
        for m in messages:
            stream.feed(m)
        return stream

    t = time.perf_counter()
    stream = feed_stream()
    fed = time.perf_counter() - t
    print(f"EventStream.feed              {per_event(fed, n)}  = {fed / base:.1f}x baseline")
    print(f"  renders while feeding: {stream.renders} in {fed:.2f} s (limit 4/s + leading edge)")

    render = best(stream.flush, 5)
    size = len(stream._table.value) + len(stream._status.value)
    print(f"EventStream render (25 rows)  {render * 1e3:8.2f} ms, {size / 1024:.1f} KiB of HTML")
    stream.filter_text = "Dial* 5550017"
    render_f = best(stream.flush, 5)
    print(f"  with filter 'Dial* 5550017' {render_f * 1e3:8.2f} ms over a 2,000-event buffer")

    try:
        from amikit.analysis import CallTracker
        from amikit.jupyter import CallBoard
    except ImportError:
        print("\n(amikit.analysis not installed: CallBoard skipped)")
        return
    single = messages[: len(messages) // args.repeat]  # ids repeat across copies
    tracker_t = best(lambda: CallTracker().feed_all(single))
    print(f"\nCallTracker.feed              {per_event(tracker_t, len(single))}")

    def feed_board() -> CallBoard:
        board = CallBoard()
        for m in single:
            board.feed(m)
        return board

    t = time.perf_counter()
    board = feed_board()
    board_t = time.perf_counter() - t
    print(
        f"CallBoard.feed                {per_event(board_t, len(single))}"
        f"  = {board_t / tracker_t:.2f}x CallTracker alone"
    )
    board_render = best(board.flush, 5)
    calls = board.finished_total
    print(f"CallBoard render              {board_render * 1e3:8.2f} ms ({calls} calls)")
    stream.close()
    board.close()


if __name__ == "__main__":
    main()
