"""``amikit convert CAPTURE --to DIR``: a raw AMI capture or text log to a Parquet dataset."""

from __future__ import annotations

import argparse
import sys
import time
import warnings

EXAMPLES = """\
amikit convert capture.raw --to recordings/old
amikit convert recordings/pbx1/ami-log.txt --to pbx1-parquet --quiet
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="raw AMI capture or amikit text log (ami-log.txt)")
    parser.add_argument("--to", required=True, metavar="DIR", help="Parquet dataset directory")
    parser.add_argument(
        "--compression", default="zstd", help="Parquet codec: zstd (default), lz4, snappy"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


class _Progress:
    """A plain-text progress bar on stderr (redrawn in place on a terminal)."""

    def __init__(self, stream=sys.stderr) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream
        self.start = time.perf_counter()
        self.tty = stream.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        pct = int(frac * 100)
        if not self.tty and pct == self.last:
            return
        self.last = pct
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        rate = done / 1e6 / max(time.perf_counter() - self.start, 1e-9)
        line = f"[{bar}] {pct:3d}% {done / 1e6:8.1f}/{total / 1e6:.1f} MB {rate:6.1f} MB/s"
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def run(args: argparse.Namespace) -> int:
    from ..record import (
        AlreadyConvertedError,
        IncompleteRecordingWarning,
        RecordingFormatError,
        convert,
    )
    from ._events import check_input

    try:
        check_input(args.source)  # the same judgement as calls/stats/summary (no FIFO hang)
    except RecordingFormatError as exc:
        print(f"amikit convert: {exc}", file=sys.stderr)
        return 1
    progress = None if args.quiet else _Progress()
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IncompleteRecordingWarning)
            report = convert(args.source, args.to, compression=args.compression, progress=progress)
    except (RecordingFormatError, AlreadyConvertedError) as exc:
        print(f"amikit convert: {exc}", file=sys.stderr)
        return 1
    finally:
        if progress is not None:
            progress.close()
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    took = time.perf_counter() - start
    print(f"{report.frames:,} messages -> {args.to} in {took:.2f} s", file=sys.stderr)
    return 0
