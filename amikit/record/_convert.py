"""``convert``: AMI text (raw capture or amikit text log) to a Parquet dataset.

Strategy
--------
The file is read in chunks of about 16 MiB, cut at frame boundaries; each chunk becomes rows
through the vectorised converter (:mod:`amikit.record._vector`), two chunks at a time on a
small pool (polars releases the GIL), while the previous chunk's part file is written (and
atomically published) on a writer thread. Parsing and Parquet encoding thus overlap on two
cores, and memory stays at a few chunks.

Where the CPU goes (``benchmarks/bench_record.py``, per 100 MB of a 123 MB capture, on a
2-core machine shared with other work, so CPU-seconds swing with its load): 3.1-3.5 CPU-s in
all, of which the polars path parses at 1.1-2.9 and the Parquet writer takes 0.6-0.7.
``action_id`` and the wide columns reach the writer as categoricals (a private category set
per chunk): it then takes each dictionary as it is instead of estimating the cardinality of
every column and hashing every value again (0.6-0.7 instead of 0.9-1.2 CPU-s for the same
rows). The parts still hold plain strings (Rule 5 of :mod:`amikit.record._dataset`). zstd
level 1 keeps files small (lz4 and snappy are 60-80 % larger for no less CPU), and column
statistics, which let readers skip part files by time or id, cost about 10 %. A C splitter
(removed in issue 14 for a portable build and one coding of the layout rules) parsed at
0.3-0.5 CPU-s and made convert about twice as fast.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from queue import Queue
from typing import TYPE_CHECKING

from ._dataset import DatasetWriter
from ._load import CHUNK_BYTES, LoadReport, _report_problems, _sniff, iter_text_rows

if TYPE_CHECKING:
    import polars as pl

__all__ = ["convert"]


def convert(
    source: str | Path,
    to: str | Path,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    compression: str = "zstd",
    progress: Callable[[int, int], None] | None = None,
    strict: bool = False,
) -> LoadReport:
    """Convert a raw AMI capture or an amikit text log to a Parquet dataset at ``to``.

    Parameters
    ----------
    source : path
        The capture or text log.
    to : path
        Dataset directory (created; existing parts are kept, new ones added).
    progress : callable, optional
        ``progress(done_bytes, total_bytes)``, called after each chunk.

    Returns
    -------
    LoadReport
        Frames converted, rejected frames, truncated tail.
    """
    from ._load import RecordingFormatError

    source = Path(source)
    kind = _sniff(source)
    if kind != "text":
        raise RecordingFormatError(f"{source}: convert reads AMI text; this is a {kind}")
    writer = DatasetWriter(to, compression=compression, fsync=False)
    report = LoadReport(str(source), kind)
    queue: Queue[pl.DataFrame | None] = Queue(maxsize=2)
    failure: list[BaseException] = []

    def drain() -> None:
        while True:
            rows = queue.get()
            if rows is None:
                return
            if failure:
                continue
            try:
                writer.write(rows)
            except BaseException as exc:  # reported on the calling thread
                failure.append(exc)

    thread = threading.Thread(target=drain, name="amikit-convert-writer", daemon=True)
    thread.start()
    try:
        for rows in iter_text_rows(
            source, chunk_bytes=chunk_bytes, progress=progress, report=report, categorical=True
        ):
            if failure:
                break
            queue.put(rows)
    finally:
        queue.put(None)
        thread.join()
    if failure:
        raise failure[0]
    _report_problems(report, strict)
    return report
