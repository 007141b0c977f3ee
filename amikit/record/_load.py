"""Loaders: a Parquet dataset, an amikit text log or a raw AMI capture -> polars.

Strategy
--------
:func:`load` and :func:`scan` look at what ``path`` is (never at its name alone):

* a directory with part files or the ``_amikit.json`` marker: a Parquet dataset, scanned
  lazily over its published parts with the full schema (parts missing newer columns get
  nulls); a part that is not a whole Parquet file is skipped and reported;
* a directory without parts but with ``ami-log*.txt`` text logs: those logs, oldest first;
* a single ``.parquet`` file;
* a file of AMI text: an amikit text log (its ``.index.jsonl`` sidecar gives arrival time,
  sequence, connection and gaps) or a raw capture (an optional ``# `` header, an optional
  banner; a ``<stem>.timing.jsonl`` next to it gives arrival times). Text goes through the
  vectorised converter (:mod:`amikit.record._vector`) chunk by chunk.

Anything else raises :class:`RecordingFormatError`. A torn part or a truncated text tail
is never fatal: it is skipped, reported with an :class:`IncompleteRecordingWarning`, and
described in the returned frame's ``amikit_report`` attribute (a :class:`LoadReport`);
``strict=True`` turns it into an error instead.

Arrival times from a shared-style ``.timing.jsonl`` are relative (seconds since connect);
they are anchored on the first server ``Timestamp:`` of the capture when there is one, and
on the Unix epoch otherwise.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import AmiError
from ._dataset import MARKER, has_run_columns, is_dataset, list_parts, part_is_complete
from ._files import strip_fixture_header
from ._schema import polars_schema, run_schema
from ._textlog import index_path, read_index
from ._vector import ConvertStats, rows_from_buffer

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "IncompleteRecordingWarning",
    "LoadReport",
    "RecordingFormatError",
    "iter_text_rows",
    "load",
    "scan",
]

CHUNK_BYTES = 16 << 20
_SNIFF = 1 << 16
_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9_\-]*(\([^\r\n]*\))?[ \t]*:")
_TEXT_LOG_GLOB = "ami-log*.txt"


class RecordingFormatError(AmiError, ValueError):
    """The path is not a recording amikit can read (or, with ``strict=True``, is damaged)."""


class IncompleteRecordingWarning(UserWarning):
    """Part of a recording could not be read (torn part file, truncated text tail)."""


@dataclass
class LoadReport:
    """What a load found. Also attached to the returned frame as ``amikit_report``."""

    path: str
    kind: str
    frames: int = 0
    parts: int = 0
    torn_parts: list[str] = field(default_factory=list)
    truncated_bytes: int = 0
    rejected_frames: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when nothing was skipped."""
        return not self.torn_parts and not self.truncated_bytes and not self.rejected_frames


# -- what is it? -------------------------------------------------------------------------------


def _sniff(path: Path) -> str:
    if not path.exists():
        raise RecordingFormatError(f"{path}: no such file or directory")
    if path.is_dir():
        if is_dataset(path):
            return "dataset"
        if _text_logs(path):
            return "text-dir"
        raise RecordingFormatError(
            f"{path}: a directory with neither Parquet parts ({MARKER}, *.parquet) "
            f"nor text logs ({_TEXT_LOG_GLOB})"
        )
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF)
    if head.startswith(b"PAR1"):
        return "parquet"
    if _looks_like_ami(head):
        return "text"
    raise RecordingFormatError(
        f"{path}: not an AMI recording (expected a Parquet dataset directory, a .parquet "
        f"file, an amikit text log or a raw AMI capture of 'Key: value' lines)"
    )


def _looks_like_ami(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    body = strip_fixture_header(head)
    if not body.strip():
        return True  # an empty log or capture (nothing received yet)
    lines = [ln for ln in body.split(b"\n")[:3] if ln.strip(b"\r")]
    if not lines:
        return False
    first = lines[0].rstrip(b"\r")
    if _HEADER_LINE.match(first):
        return True
    # a banner ("Asterisk Call Manager/11.0.0") followed by a header line
    return (
        b":" not in first
        and len(first) <= 256
        and len(lines) > 1
        and bool(_HEADER_LINE.match(lines[1].rstrip(b"\r")))
    )


def _text_logs(directory: Path) -> list[Path]:
    logs = sorted(directory.glob(_TEXT_LOG_GLOB))
    # the live log (ami-log.txt) last: rotated ones carry a stamp and sort before it
    return sorted(logs, key=lambda p: (p.name == "ami-log.txt", p.name))


# -- text ------------------------------------------------------------------------------------


def _timing(path: Path) -> pl.DataFrame | None:
    import polars as pl

    candidates = [path.with_suffix(".timing.jsonl"), path.with_name(path.name + ".timing.jsonl")]
    for timing in candidates:
        if timing.exists():
            data = timing.read_bytes()
            data = data[: data.rfind(b"\n") + 1]
            if not data.strip():
                return None
            schema = {"t": pl.Float64, "offset": pl.Int64, "len": pl.Int64}
            return pl.read_ndjson(data, schema=schema).sort("offset")
    return None


def _gap_rows(gaps: pl.DataFrame, server: str | None) -> pl.DataFrame:
    """Gap records of a text-log index as rows of the layout (plus ``_end`` for order)."""

    from ._schema import gap_row, rows_to_frame

    def when(us: int | None) -> datetime | None:
        if us is None:
            return None
        return datetime.fromtimestamp(0, timezone.utc) + _us(us)

    rows = [
        gap_row(
            received_at=when(g["received_at"]),
            server=server,
            connection=g["connection"],
            gap_start=when(g["gap_start"]),
            gap_end=when(g["gap_end"]),
            reason=g["reason"],
        )
        for g in gaps.iter_rows(named=True)
    ]
    return rows_to_frame(rows).with_columns(gaps["offset"].alias("_end"))


def _us(us: int) -> Any:
    from datetime import timedelta

    return timedelta(microseconds=us)


def iter_text_rows(
    path: str | Path,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    progress: Callable[[int, int], None] | None = None,
    report: LoadReport | None = None,
    categorical: bool = False,
) -> Iterator[pl.DataFrame]:
    """Rows of an AMI text file (capture or text log), chunk by chunk, full schema.

    With ``categorical``, chunks parsed by the C splitter hold ``action_id`` and the wide
    columns as categoricals of the same strings (for the Parquet writer: ``convert``).

    ``progress(done_bytes, total_bytes)`` is called after each chunk.
    """
    import polars as pl

    path = Path(path)
    report = report if report is not None else LoadReport(str(path), "text")
    schema = polars_schema()
    total = path.stat().st_size
    idx = index_path(path)
    server: str | None = path.name
    index: pl.DataFrame | None = None
    gaps: pl.DataFrame | None = None
    if idx.exists():
        srv, records, torn = read_index(idx)
        server = srv or server
        if torn:
            report.problems.append(f"{idx.name}: torn last line skipped")
        index = (
            records.filter(pl.col("gap").is_null())
            .select(
                (pl.col("offset") + pl.col("len")).alias("_end"), "seq", "connection", "received_at"
            )
            .with_columns(pl.col("received_at").cast(pl.Datetime("us", "UTC")))
        )
        gaps = records.filter(pl.col("gap").fill_null(False))
    timing = None if index is not None else _timing(path)
    anchor: int | None = None  # µs to add to timing's relative seconds

    with open(path, "rb") as fh:
        head = fh.read(_SNIFF)
        body = strip_fixture_header(head)
        pos = len(head) - len(body)  # file offset of the AMI bytes
        nl = body.find(b"\n")
        lf = not (nl > 0 and body[nl - 1] == 13) if nl >= 0 else False
        eol = b"\n" if lf else b"\r\n"
        if nl >= 0:
            first = body[: nl + 1].rstrip(b"\r\n")
            if first and b":" not in first and len(first) <= 256:
                pos += nl + 1  # the banner
        follows = _contains(fh, b"Follows" + eol)
        fh.seek(pos)
        seq = 0
        gap_done = 0
        last: tuple[int | None, int | None] = (None, None)  # (seq, connection) so far
        tail: list[bytes] = [b""]
        start = pos
        for rows, stats, base, pos, final in _parsed_chunks(
            fh, start, chunk_bytes, lf=lf, follows=follows, tail=tail, categorical=categorical
        ):
            _count(report, stats)
            if rows.height or (gaps is not None and gap_done < gaps.height):
                n = rows.height
                simple = index is None and timing is None and gaps is None
                rows = (
                    rows.lazy()
                    .with_columns(
                        (pl.col("_end") + base).alias("_end"),
                        pl.lit(server, dtype=pl.String).alias("server"),
                        pl.int_range(seq + 1, seq + n + 1, dtype=pl.Int64).alias("seq"),
                    )
                    .select(list(schema) if simple else [*schema, "_end"])
                    .collect()
                )
                seq += n
                if index is not None:
                    rows = rows.drop("seq", "connection", "received_at").join(
                        index, on="_end", how="left", maintain_order="left"
                    )
                    rows, last = _continue_sequence(rows, last)
                elif timing is not None and n:
                    rows, anchor = _apply_timing(rows, timing, anchor)
                if gaps is not None and gap_done < gaps.height:
                    todo = gaps.slice(gap_done)
                    if not final:
                        todo = todo.filter(pl.col("offset") < pos)
                    gap_done += todo.height
                    if todo.height:
                        rows = (
                            pl.concat(
                                [
                                    rows.select(*schema, "_end").with_columns(
                                        pl.lit(0).alias("_o")
                                    ),
                                    _gap_rows(todo, server)
                                    .select(*schema, "_end")
                                    # categorical strings, if the rows have them
                                    .cast({c: rows.schema[c] for c in schema})
                                    .with_columns(pl.lit(1).alias("_o")),
                                ]
                            )
                            .sort("_end", "_o", maintain_order=True)
                            .drop("_o")
                        )
                report.frames += n
                yield rows if simple else rows.select(list(schema))
            if progress is not None:
                progress(min(pos, total), total)
        if gaps is not None and gap_done < gaps.height:  # gaps after the last frame
            yield _gap_rows(gaps.slice(gap_done), server).select(list(schema))
        carry = tail[0]
        if carry.strip(b"\r\n"):
            report.truncated_bytes = len(carry)
            report.problems.append(
                f"{path.name}: truncated tail of {len(carry)} bytes after the last complete "
                f"frame skipped"
            )


def _parsed_chunks(
    fh: Any,
    pos: int,
    chunk_bytes: int,
    *,
    lf: bool,
    follows: bool,
    tail: list[bytes],
    categorical: bool = False,
) -> Iterator[tuple[pl.DataFrame, ConvertStats, int, int, bool]]:
    """Rows of successive chunks: ``(rows, stats, base offset, offset after, is_last)``.

    With plain framing a chunk ends at its last terminator, known before parsing, so two
    chunks are parsed at once on a small thread pool (polars releases the GIL). With old
    Command output in the stream the codec decides where a chunk ends: one at a time.
    ``tail[0]`` receives the bytes after the last complete frame.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    term = b"\n\n" if lf else b"\r\n\r\n"
    carry = b""
    if follows:
        while True:
            block = fh.read(chunk_bytes)
            data = carry + block if carry else block
            if not data:
                break
            rows, used, stats = rows_from_buffer(data, lf=lf, follows=True)
            if not block and not data.strip(b"\r\n"):
                used = len(data)
            carry = data[used:]
            yield rows, stats, pos, pos + used, not block
            pos += used
            if not block:
                break
        tail[0] = carry
        return
    queue: deque[tuple[Future[Any], int, int]] = deque()
    # Each chunk is read straight into its own buffer, which is then cut in place at its
    # last terminator; the next read starts there (re-reading the partial frame, < one
    # frame). No concatenation or slicing: a 16 MiB chunk is copied once, by the read.
    size = chunk_bytes
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="amikit-convert") as pool:
        while True:
            fh.seek(pos)
            data = bytearray(size)
            got = fh.readinto(data)
            del data[got:]
            cut = data.rfind(term)
            if cut < 0:
                if got < size:  # end of file: only an incomplete frame (or nothing) left
                    carry = bytes(data)
                    break
                size *= 2  # a frame larger than a chunk: read more at once
                continue
            cut += len(term)
            del data[cut:]
            size = chunk_bytes
            job = pool.submit(rows_from_buffer, data, lf=lf, follows=False, categorical=categorical)
            queue.append((job, pos, pos + cut))
            pos += cut
            while len(queue) > 2:
                job, start, end = queue.popleft()
                rows, _, stats = job.result()
                yield rows, stats, start, end, False
        while queue:
            job, start, end = queue.popleft()
            rows, _, stats = job.result()
            yield rows, stats, start, end, not queue
    if not queue and not carry.strip(b"\r\n"):
        carry = b""
    tail[0] = carry


def _continue_sequence(
    rows: pl.DataFrame, last: tuple[int | None, int | None]
) -> tuple[pl.DataFrame, tuple[int | None, int | None]]:
    """Frames past the end of the index (its last lines lost in a crash) continue the
    sequence of the frame before them (same connection); their arrival time stays null."""
    import polars as pl

    if rows.height == 0 or rows["seq"].null_count() == 0:
        if rows.height:
            last = (rows["seq"][-1], rows["connection"][-1])
        return rows, last
    known = pl.col("seq").is_not_null()
    run = known.cum_sum()
    k = pl.int_range(pl.len()).over(run)
    last_seq, last_conn = last
    lead = pl.lit(last_seq, dtype=pl.Int64) + k + 1
    rows = rows.with_columns(
        pl.when(known)
        .then(pl.col("seq"))
        .when(run == 0)
        .then(lead)
        .otherwise(pl.col("seq").forward_fill() + k)
        .alias("seq"),
        pl.col("connection").forward_fill().fill_null(pl.lit(last_conn, dtype=pl.Int32)),
    )
    return rows, (rows["seq"][-1], rows["connection"][-1])


def _contains(fh: Any, needle: bytes) -> bool:
    """Whether the file holds ``needle`` (searched in place through a memory map)."""
    import mmap

    fh.seek(0, os.SEEK_END)
    if fh.tell() == 0:
        return False
    from . import _vector

    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if _vector.NATIVE is not None:
            return bool(_vector.NATIVE.contains(mm, needle))
        return mm.find(needle) >= 0


def _count(report: LoadReport, stats: ConvertStats) -> None:
    report.rejected_frames += stats.errors
    report.problems.extend(stats.problems[:5])


def _apply_timing(
    rows: pl.DataFrame, timing: pl.DataFrame, anchor: int | None
) -> tuple[pl.DataFrame, int]:
    import polars as pl

    joined = (
        rows.with_columns((pl.col("_end") - 1).alias("_last"))
        .join_asof(
            timing.select(pl.col("offset").alias("_last"), "t"),
            on="_last",
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns((pl.col("t") * 1_000_000).round().cast(pl.Int64).alias("_t"))
    )
    if anchor is None:
        first = joined.filter(pl.col("timestamp").is_not_null()).head(1)
        if first.height:
            stamp = first["timestamp"].dt.epoch("us")[0]
            anchor = int(stamp - (first["_t"][0] or 0))
        else:
            anchor = 0
    joined = joined.with_columns(
        (pl.col("_t") + anchor).cast(pl.Datetime("us", "UTC")).alias("received_at")
    )
    return joined.drop("_last", "t", "_t"), anchor


# -- public ----------------------------------------------------------------------------------


def _report_problems(report: LoadReport, strict: bool) -> None:
    if report.complete:
        return
    text = "; ".join(report.problems) or "recording incomplete"
    if strict:
        raise RecordingFormatError(f"{report.path}: {text}")
    warnings.warn(f"{report.path}: {text}", IncompleteRecordingWarning, stacklevel=3)


def _scan_dataset(root: Path, report: LoadReport) -> pl.LazyFrame:
    import polars as pl

    schema = polars_schema()
    if has_run_columns(root):  # a collapsed recording: count/first/last per row
        schema |= run_schema()
    good = []
    for part in list_parts(root):
        if part_is_complete(part):
            good.append(part)
        else:
            report.torn_parts.append(str(part))
            report.problems.append(f"skipped incomplete part {part.relative_to(root)}")
    report.parts = len(good)
    if not good:
        return pl.LazyFrame(schema=schema)
    lf = pl.scan_parquet(
        [str(p) for p in good],
        schema=schema,
        hive_partitioning=False,
        missing_columns="insert",
        extra_columns="ignore",
    )
    lf._amikit_parts = good  # type: ignore[attr-defined]  # for load(): part by part
    return lf


def _without_null_buffers(part: pl.DataFrame) -> pl.DataFrame:
    """``part`` with its all-null columns held as null constants (same names and dtypes).

    A polars string column costs 16 bytes per row even where every value is null, and a
    recording has about a hundred wide columns of which a part uses a few: held as
    constants they cost nothing, so a loaded frame is about its data's size (issue 12).
    """
    import polars as pl

    counts = part.null_count().row(0)
    empty = [c for c, nulls in zip(part.columns, counts, strict=True) if nulls == part.height]
    if not empty or part.height == 0:
        return part
    return part.with_columns(pl.lit(None, dtype=part.schema[c]).alias(c) for c in empty)


def _load_dataset(root: Path, report: LoadReport) -> pl.DataFrame:
    """The dataset read part by part, all-null columns of each part left unmaterialised."""
    import polars as pl

    lf = _scan_dataset(root, report)
    sources = getattr(lf, "_amikit_parts", None)
    if not sources:
        return lf.collect()
    schema = lf.collect_schema()
    parts = [
        _without_null_buffers(
            pl.scan_parquet(
                str(source),
                schema=schema,
                hive_partitioning=False,
                missing_columns="insert",
                extra_columns="ignore",
            ).collect()
        )
        for source in sources
    ]
    return pl.concat(parts, rechunk=False)


def _load_text(paths: list[Path], report: LoadReport) -> pl.DataFrame:
    import polars as pl

    frames = [rows for p in paths for rows in iter_text_rows(p, report=report)]
    if not frames:
        return pl.DataFrame(schema=polars_schema())
    return pl.concat(frames, rechunk=True)


def load(path: str | Path, *, strict: bool = False) -> pl.DataFrame:
    """Load a recording as a polars DataFrame (one row per message, see ``_schema``).

    Parameters
    ----------
    path : str or Path
        A Parquet dataset directory (what :class:`amikit.Recorder` and ``amikit convert``
        write), a ``.parquet`` file, an amikit text log, a directory of text logs, or a raw
        AMI capture.
    strict : bool
        Raise instead of warning when part of the recording is unreadable.

    Returns
    -------
    polars.DataFrame
        With the columns of :func:`amikit.record.polars_schema`; ``amikit_report`` holds a
        :class:`LoadReport`.

    Raises
    ------
    RecordingFormatError
        ``path`` is none of the above (or is damaged and ``strict`` is set).

    Warns
    -----
    IncompleteRecordingWarning
        A torn part file or a truncated text tail was skipped.
    """
    path = Path(path)
    kind = _sniff(path)
    report = LoadReport(str(path), kind)
    if kind == "dataset":
        df = _load_dataset(path, report)
    elif kind == "parquet":
        df = scan(path).collect()
    elif kind == "text-dir":
        df = _load_text(_text_logs(path), report)
    else:
        df = _load_text([path], report)
    report.frames = df.height
    _report_problems(report, strict)
    df.amikit_report = report  # type: ignore[attr-defined]
    return df


def scan(path: str | Path, *, strict: bool = False) -> pl.LazyFrame:
    """Like :func:`load` but lazy: a polars LazyFrame.

    A Parquet dataset is scanned lazily (predicates and column selections reach the
    files); AMI text is converted first, so for large captures ``amikit convert`` once
    and scan the dataset.
    """
    import polars as pl

    path = Path(path)
    kind = _sniff(path)
    report = LoadReport(str(path), kind)
    if kind == "dataset":
        lf = _scan_dataset(path, report)
    elif kind == "parquet":
        schema = polars_schema()
        if set(run_schema()) <= set(pl.read_parquet_schema(path)):  # a collapsed part
            schema |= run_schema()
        lf = pl.scan_parquet(
            str(path), schema=schema, missing_columns="insert", extra_columns="ignore"
        )
    else:
        return load(path, strict=strict).lazy()
    _report_problems(report, strict)
    return lf


def describe(path: str | Path) -> dict[str, Any]:
    """Small JSON-able description of a recording (kind and sizes), for the CLI."""
    path = Path(path)
    kind = _sniff(path)
    out: dict[str, Any] = {"path": str(path), "kind": kind}
    if kind == "dataset":
        parts = list_parts(path)
        out["parts"] = len(parts)
        out["bytes"] = sum(p.stat().st_size for p in parts)
    elif path.is_file():
        out["bytes"] = path.stat().st_size
    return json.loads(json.dumps(out))
