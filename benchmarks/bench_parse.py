"""Parse throughput of amikit's codec next to a framing baseline and the Python AMI peers.

Run from the repository root::

    python benchmarks/bench_parse.py            # the full table (a few minutes)
    python benchmarks/bench_parse.py --quick    # one round, for a smoke test

The peers are measured when installed (``pip install -e ".[bench]"``); a missing one is
named in the output and left out.

Strategy
--------
* **Corpus.** Real traffic only: every capture in ``tests/data`` that is plain CRLF server
  output (the ``ami-samples/*.ami`` recordings and the Asterisk 22 captures), fixture headers
  and per-capture banners stripped, concatenated behind one banner and cut at the last frame
  boundary before ``--size`` (default 4 MiB). Nothing is written to the repository; with
  ``--save`` the corpus goes to ``benchmarks/_corpus/`` (git-ignored) for other tools.
* **Two feeds.** The same bytes are delivered as 64 KiB reads (what a socket gives a busy
  client) and as one burst of the whole corpus (what a client sees after a stall). The chunks
  are cut before the clock starts, as a socket would hand them over.
* **Same bytes, each parser's own path.** No sockets and no threads: each peer is driven
  through the entry point its own client uses to turn received bytes into messages:

  - panoramisk: ``AMIProtocol.data_received(chunk)`` (its ``Message.from_line``), with the
    ``utf8`` encoding its ``Manager`` sets;
  - python-ami (``asterisk-ami``): the ``AMIClient._next_pack()`` generator reading a stand-in
    socket whose ``recv`` returns the chunks, then ``Response.read`` / ``Event.read`` as
    ``fire_recv_pack`` does (without its listener dispatch, which would cost it more, and
    without its stop at a ``Goodbye`` response, which would end the run early);
  - pyst2: ``Manager._receive_data()`` iterating a buffered reader over the chunks (as its
    ``socket.makefile()`` would), then ``ManagerMsg(lines)`` as ``message_loop`` does. pyst2
    raises ``AttributeError`` on every ``ChanVariable`` header under Python 3; such messages
    are counted in the ``lost`` column, not hidden.

* **Two figures.**
  (a) frame, then read the message name, ``Uniqueid`` and ``Linkedid`` of every message;
  (b) every header of every message materialised: ``Message.to_dict()`` for amikit, the
  dict the peer builds anyway (their parse always materialises everything, so their (b) costs
  what their (a) costs).
  The baseline is framing alone: ``bytes.split(b"\\r\\n\\r\\n")`` with a carried remainder.
* **Timing.** Best of ``--repeat`` rounds, garbage collector on, as in a real client. A round
  runs every parser once, in turn; the clock is the CPU time of this process
  (``time.process_time``), so that other work on a shared machine does not count against
  whichever parser happened to be running. Every figure is printed with its ratio to the
  other parsers measured in the same run on the same corpus; absolute MB/s depend on the
  machine, the ratios much less.
* **Message core.** amikit's hot calls run in its C core when built (the default install
  compiles it), else in the pure-Python twin; the header line says which one ran.
  ``AMIKIT_PURE_PYTHON=1 python benchmarks/bench_parse.py`` measures the pure-Python one.
* ``found`` counts messages whose ``Uniqueid`` the parser could read. Asterisk spells it
  ``UniqueID`` in ``CEL`` events: a case-sensitive dict misses those.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import io
import logging
import platform
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout's amikit, not an installed one

from amikit.protocol import Parser  # noqa: E402
from amikit.protocol._message import IMPLEMENTATION  # noqa: E402
from amikit.record._files import read_capture  # noqa: E402

DATA = ROOT / "tests" / "data"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
TERM = b"\r\n\r\n"
KIB = 1024
MIB = 1024 * 1024
CHUNK = 64 * KIB

# A runner gets the list of chunks and the figure ("a" or "b"); it returns
# (messages decoded, messages whose Uniqueid it read, messages lost to a crash).
Runner = Callable[[list[bytes], str], tuple[int, int, int]]


# -- corpus -------------------------------------------------------------------------------


def capture_paths() -> list[Path]:
    """The CRLF server-side captures, small varied ones first, the long Asterisk 22 one last."""
    samples = sorted((DATA / "ami-samples").glob("*.ami"))
    kinds = sorted((DATA / "asterisk22" / "kinds").glob("*.raw"))
    return [*samples, *kinds, DATA / "asterisk22" / "mixed60.raw"]


def build_corpus(size: int) -> bytes:
    """One banner, then whole frames from the captures, at most ``size`` bytes in all."""
    parts = [BANNER]
    total = len(BANNER)
    for path in capture_paths():
        data = read_capture(path)
        if data.startswith(b"Asterisk Call Manager/"):
            data = data.split(b"\r\n", 1)[1]
        if not data.endswith(TERM):
            data = data[: data.rfind(TERM) + 4]
        if total + len(data) > size:
            cut = data.rfind(TERM, 0, size - total)
            if cut > 0:
                parts.append(data[: cut + 4])
            break
        parts.append(data)
        total += len(data)
    return b"".join(parts)


def cut(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# -- amikit and the baseline --------------------------------------------------------------


def run_amikit(chunks: list[bytes], figure: str) -> tuple[int, int, int]:
    parser = Parser()
    feed = parser.feed
    count = found = 0
    if figure == "a":
        for chunk in chunks:
            for msg in feed(chunk):
                msg.name  # noqa: B018 - reading it is the work being measured
                uniqueid = msg.get("Uniqueid")
                msg.get("Linkedid")
                count += 1
                if uniqueid is not None:
                    found += 1
    else:
        for chunk in chunks:
            for msg in feed(chunk):
                headers = msg.to_dict()
                count += 1
                if "Uniqueid" in headers or "UniqueID" in headers:
                    found += 1
    return count, found, 0


def run_split_baseline(chunks: list[bytes], figure: str) -> tuple[int, int, int]:
    """Framing floor: split on the blank line, carry the remainder; no decoding at all."""
    rest = b""
    count = 0
    for chunk in chunks:
        frames = (rest + chunk).split(TERM) if rest else chunk.split(TERM)
        rest = frames.pop()
        count += len(frames)
    return count, 0, 0


# -- peers --------------------------------------------------------------------------------


def peer_runners() -> dict[str, Runner | str]:
    """Each installed peer's runner, or the reason it is not measured."""
    out: dict[str, Runner | str] = {}
    for label, factory in (
        ("panoramisk", _panoramisk),
        ("python-ami", _python_ami),
        ("pyst2", _pyst2),
    ):
        try:
            out[label] = factory()
        except ImportError as exc:
            out[label] = f"not installed ({exc.name}); pip install -e '.[bench]'"
    return out


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _panoramisk() -> Runner:
    from panoramisk.ami_protocol import AMIProtocol

    class Collector(AMIProtocol):
        # keep the parsed messages instead of matching them to pending actions
        def handle_message(self, message):  # type: ignore[no-untyped-def]
            self.collected.append(message)

    def run(chunks: list[bytes], figure: str) -> tuple[int, int, int]:
        proto = Collector()
        proto.connection_made(None)
        proto.encoding = "utf8"  # what panoramisk.Manager sets on its protocol
        proto.collected = collected = []
        count = found = 0
        for chunk in chunks:
            proto.data_received(chunk)
            for msg in collected:
                if figure == "a":
                    msg.get("Event") or msg.get("Response")
                    uniqueid = msg.get("Uniqueid")
                    msg.get("Linkedid")
                else:
                    headers = msg  # a CaseInsensitiveDict, built by from_line
                    uniqueid = headers.get("Uniqueid")
                count += 1
                if uniqueid is not None:
                    found += 1
            collected.clear()
        return count, found, 0

    run.version = _version("panoramisk")  # type: ignore[attr-defined]
    return run


def _python_ami() -> Runner:
    from asterisk.ami.client import AMIClient
    from asterisk.ami.event import Event
    from asterisk.ami.response import Response

    class ChunkSocket:
        def __init__(self, chunks: list[bytes]) -> None:
            self._chunks = iter(chunks)

        def recv(self, _size: int) -> bytes:
            return next(self._chunks, b"")

        def close(self) -> None:
            pass

    def run(chunks: list[bytes], figure: str) -> tuple[int, int, int]:
        client = AMIClient(buffer_size=CHUNK)
        client._socket = ChunkSocket(chunks)
        client.finished = threading.Event()
        packs = client._next_pack()
        next(packs)  # the banner
        count = found = 0
        for pack in packs:
            # fire_recv_pack, without the listener dispatch
            if Response.match(pack):
                msg = Response.read(pack)
                name = msg.status
            elif Event.match(pack):
                msg = Event.read(pack)
                name = msg.name
            else:
                continue
            keys = msg.keys
            if figure == "a":
                uniqueid = keys.get("Uniqueid")
                keys.get("Linkedid")
            else:
                uniqueid = keys.get("Uniqueid")
            del name
            count += 1
            if uniqueid is not None:
                found += 1
        return count, found, 0

    run.version = _version("asterisk-ami")  # type: ignore[attr-defined]
    return run


def _pyst2() -> Runner:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from asterisk.manager import Manager, ManagerMsg

    class ChunkReader(io.RawIOBase):
        def __init__(self, chunks: list[bytes]) -> None:
            self._chunks = iter(chunks)
            self._left = b""

        def readable(self) -> bool:
            return True

        def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
            data = self._left or next(self._chunks, b"")
            n = min(len(buf), len(data))
            buf[:n] = data[:n]
            self._left = data[n:]
            return n

    class Sink:
        """Stands in for the queue that ``message_loop`` drains; parses right away."""

        def __init__(self, figure: str) -> None:
            self.figure = figure
            self.count = self.found = self.lost = 0

        def put(self, lines: list[str] | None) -> None:
            if not lines:
                return
            try:
                msg = ManagerMsg(lines)
            except AttributeError:  # dict.has_key on ChanVariable (Python 2 code)
                self.lost += 1
                return
            headers = msg.headers
            headers.get("Event") or headers.get("Response")
            uniqueid = headers.get("Uniqueid")
            if self.figure == "a":
                headers.get("Linkedid")
            self.count += 1
            if uniqueid is not None:
                self.found += 1

    def run(chunks: list[bytes], figure: str) -> tuple[int, int, int]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            manager = Manager()
        manager._sock = io.BufferedReader(ChunkReader(chunks), buffer_size=CHUNK)
        sink = Sink(figure)
        manager._message_queue = sink
        manager._running.set()
        manager._connected.set()
        try:
            manager._receive_data()  # returns at end of input
        finally:
            manager._running.clear()  # so its __del__ does not try to log off
        return sink.count - 1, sink.found, sink.lost  # -1: its fake banner "Response"

    run.version = _version("pyst2")  # type: ignore[attr-defined]
    return run


# -- measuring ----------------------------------------------------------------------------


def measure_cell(
    runners: dict[str, Runner], chunks: list[bytes], figure: str, repeat: int, budget: float
) -> dict[str, tuple[float, tuple[int, int, int]]]:
    """Best time of each runner over ``repeat`` rounds.

    Each round runs every parser once, in turn, so that a burst of load from elsewhere on
    the machine hits all of them alike instead of whichever was being repeated.
    """
    best: dict[str, tuple[float, tuple[int, int, int]]] = {}
    started = time.monotonic()
    for round_no in range(repeat):
        if round_no and time.monotonic() - started > budget:
            break
        for name, runner in runners.items():
            gc.collect()
            t0 = time.process_time()
            result = runner(chunks, figure)
            elapsed = time.process_time() - t0
            if name not in best or elapsed < best[name][0]:
                best[name] = (elapsed, result)
    return best


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=float, default=4.0, help="corpus size in MiB (default 4)")
    ap.add_argument("--repeat", type=int, default=5, help="best of N runs (default 5)")
    ap.add_argument(
        "--budget", type=float, default=30.0, help="start no new round of a cell after this many s"
    )
    ap.add_argument("--quick", action="store_true", help="one run per cell")
    ap.add_argument("--only", action="append", help="measure only these parsers (repeatable)")
    ap.add_argument("--save", action="store_true", help="write the corpus to benchmarks/_corpus/")
    args = ap.parse_args(list(argv) if argv is not None else None)
    if args.quick:
        args.repeat = 1
    logging.disable(logging.CRITICAL)  # peers log per message at DEBUG; keep that cheap

    corpus = build_corpus(int(args.size * MIB))
    if args.save:
        out = ROOT / "benchmarks" / "_corpus" / "corpus.ami"
        out.parent.mkdir(exist_ok=True)
        out.write_bytes(corpus)
    frames = corpus.count(TERM)
    mb = len(corpus) / 1e6
    feeds = {"64 KiB": cut(corpus, CHUNK), "burst": [corpus]}

    runners: dict[str, Runner | str] = {"amikit": run_amikit}
    runners.update(peer_runners())
    runners["bytes.split"] = run_split_baseline
    if args.only:
        runners = {k: v for k, v in runners.items() if k in args.only or k == "amikit"}

    print(
        f"corpus: {len(corpus):,} bytes ({mb:.2f} MB), {frames:,} frames from "
        f"{len(capture_paths())} captures in tests/data; burst = the whole corpus in one feed"
    )
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.machine()}; best of {args.repeat}, CPU time; gc on; "
        f"amikit Message core: {IMPLEMENTATION} (AMIKIT_PURE_PYTHON=1 for the Python one)"
    )
    for name, runner in runners.items():
        if isinstance(runner, str):
            print(f"  {name}: {runner}")
        elif name not in ("amikit", "bytes.split"):
            print(f"  {name} {getattr(runner, 'version', '?')}")
    print()

    # results[figure][feed][name] = (seconds, (count, found, lost))
    measured = {name: r for name, r in runners.items() if not isinstance(r, str)}
    results: dict[str, dict[str, dict[str, tuple[float, tuple[int, int, int]]]]] = {}
    for figure in ("a", "b"):
        results[figure] = {}
        for feed_name, chunks in feeds.items():
            cell_runners = {
                k: v for k, v in measured.items() if not (figure == "b" and k == "bytes.split")
            }
            results[figure][feed_name] = measure_cell(
                cell_runners, chunks, figure, args.repeat, args.budget
            )

    titles = {
        "a": "(a) frame + name + Uniqueid + Linkedid of every message",
        "b": "(b) every header of every message materialised (amikit: to_dict())",
    }
    for figure in ("a", "b"):
        print(titles[figure])
        header = (
            f"  {'parser':<12} {'feed':<7} {'MB/s':>8} {'msg/s':>11} {'msgs':>6} "
            f"{'found':>6} {'lost':>5} {'amikit is':>10}"
        )
        print(header)
        print("  " + "-" * (len(header) - 2))
        for feed_name in feeds:
            cell = results[figure][feed_name]
            ours = cell["amikit"][0]
            for name, (seconds, (count, found, lost)) in cell.items():
                ratio = "" if name == "amikit" else f"{seconds / ours:.1f}x"
                found_s = "-" if name == "bytes.split" else str(found)
                print(
                    f"  {name:<12} {feed_name:<7} {mb / seconds:>8.1f} "
                    f"{fmt_rate(count / seconds):>11} {count:>6} {found_s:>6} {lost:>5} "
                    f"{ratio:>10}"
                )
        print()

    targets = [
        ("a", "64 KiB", "python-ami", 3.0),
        ("a", "64 KiB", "panoramisk", 5.0),
        ("a", "burst", "python-ami", 10.0),
        ("b", "64 KiB", "python-ami", 1.0),
        ("b", "burst", "python-ami", 1.0),
    ]
    print("targets (issue 2), amikit's speed as a multiple of the peer's:")
    for figure, feed_name, peer, want in targets:
        cell = results[figure][feed_name]
        if peer not in cell:
            print(f"  ({figure}) {feed_name:<7} vs {peer:<11} >= {want:>4.1f}x: not measured")
            continue
        ratio = cell[peer][0] / cell["amikit"][0]
        verdict = "met" if ratio >= want else "MISSED"
        print(
            f"  ({figure}) {feed_name:<7} vs {peer:<11} >= {want:>4.1f}x: {ratio:5.1f}x  {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
