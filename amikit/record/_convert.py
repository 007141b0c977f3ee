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

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from queue import Queue
from typing import TYPE_CHECKING

from .._exceptions import UsageError
from ._dataset import DatasetWriter, ParquetCompression, is_dataset, list_parts
from ._load import CHUNK_BYTES, LoadReport, _report_problems, _sniff, iter_text_rows

if TYPE_CHECKING:
    import polars as pl

__all__ = ["AlreadyConvertedError", "convert", "source_session"]

# how much of each end of a source its fingerprint reads (the size is in it too)
_FINGERPRINT_BYTES = 1 << 20


class AlreadyConvertedError(UsageError):
    """The dataset already holds this source: converting it again would double its rows."""


def source_session(source: str | Path) -> str:
    """The session id of a converted source: ``convert-<fingerprint>``.

    The fingerprint hashes the size and the first and last MiB of the file, so the same
    capture (under any name or path) gets the same session, and a converted capture is
    recognised in a dataset without reading it all again.
    """
    path = Path(source)
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        digest.update(fh.read(_FINGERPRINT_BYTES))
        if size > _FINGERPRINT_BYTES:
            fh.seek(max(_FINGERPRINT_BYTES, size - _FINGERPRINT_BYTES))
            digest.update(fh.read())
    return f"convert-{digest.hexdigest()[:20]}"


def _holds_session(root: Path, session: str) -> bool:
    import polars as pl

    parts = [str(p) for p in list_parts(root)]
    if not parts:
        return False
    found = (
        pl.scan_parquet(
            parts, schema={"session": pl.String()}, missing_columns="insert", extra_columns="ignore"
        )
        .filter(pl.col("session") == session)
        .head(1)
        .collect()
    )
    return found.height > 0


def convert(
    source: str | Path,
    to: str | Path,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    compression: ParquetCompression = "zstd",
    progress: Callable[[int, int], None] | None = None,
    strict: bool = False,
) -> LoadReport:
    """Convert a raw AMI capture or an amikit text log to a Parquet dataset at ``to``.

    Parameters
    ----------
    source : path
        The capture or text log.
    to : path
        Dataset directory (created; existing parts are kept, new ones added). Every row
        gets the session :func:`source_session` of ``source``.
    progress : callable, optional
        ``progress(done_bytes, total_bytes)``, called after each chunk.

    Returns
    -------
    LoadReport
        Frames converted, rejected frames, truncated tail.

    Raises
    ------
    AlreadyConvertedError
        ``to`` already holds this source (same content under any name): converting it
        again would double every row. Convert into a new directory, or remove the old.
    """
    from ._load import RecordingFormatError

    source = Path(source)
    kind = _sniff(source)
    if kind != "text":
        raise RecordingFormatError(f"{source}: convert reads AMI text; this is a {kind}")
    import polars as pl

    session = source_session(source)
    if is_dataset(Path(to)) and _holds_session(Path(to), session):
        msg = (
            f"{to} already holds {source.name} (session {session}); converting it again "
            "would double its rows: convert into a new directory"
        )
        raise AlreadyConvertedError(msg)
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
                writer.write(rows.with_columns(pl.lit(session, dtype=pl.String).alias("session")))
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
