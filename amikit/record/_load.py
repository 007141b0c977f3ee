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

Impostors are refused: a Parquet file or part is read only if it has the key columns of a
recording (:data:`KEY_COLUMNS`) and every recording column it has is of the recording's
type. A lone file that fails this raises :class:`RecordingFormatError` naming what is
missing or wrong; a part of a dataset that fails it, or whose footer or pages are damaged
(valid ``PAR1`` markers, garbage inside), is skipped and reported like a torn part.

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
from typing import IO, TYPE_CHECKING, Any

from .._exceptions import AmiError
from ..protocol import DEFAULT_MAX_FRAME_SIZE
from ._dataset import MARKER, has_run_columns, is_dataset, list_parts, marked, part_is_complete
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
#: Columns every amikit recording has; a Parquet file without them is not one.
KEY_COLUMNS = ("received_at", "kind", "event", "seq")
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
    #: Frames of a text log without their index line (torn or lost index): no arrival time.
    unindexed_frames: int = 0
    torn_index: bool = False
    #: Frames the text logs beside a dataset hold beyond its last part (see ``complete=``).
    tail_frames: int = 0

    @property
    def complete(self) -> bool:
        """True when nothing was skipped or left without its index line."""
        return not (
            self.torn_parts
            or self.truncated_bytes
            or self.rejected_frames
            or self.unindexed_frames
            or self.torn_index
        )


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


_ROTATED_LOG = re.compile(r"ami-log-\d{8}T\d+\.txt")


def _text_logs(directory: Path) -> list[Path]:
    logs = sorted(directory.glob(_TEXT_LOG_GLOB))
    # the live logs (ami-log.txt, and ami-log-<server>.txt of a second server) last:
    # rotated ones carry a stamp and sort before them, in time order
    return sorted(logs, key=lambda p: (not _ROTATED_LOG.fullmatch(p.name), p.name))


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
    return rows_to_frame(rows).with_columns(gaps["offset"].alias("_end"), gaps["session"])


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
    _tail: tuple[int, str | None, pl.DataFrame] | None = None,
) -> Iterator[pl.DataFrame]:
    """Rows of an AMI text file (capture or text log), chunk by chunk, full schema.

    With ``categorical``, chunks hold ``action_id`` and the wide columns as categoricals of
    the same strings (for the Parquet writer: ``convert``).

    ``progress(done_bytes, total_bytes)`` is called after each chunk.

    ``_tail=(offset, server, index records)`` reads only the frames from ``offset`` on,
    with the index records from there (:func:`_text_tail`).
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
    if _tail is not None or idx.exists():
        if _tail is not None:
            srv, records, torn = _tail[1], _tail[2], False
        else:
            srv, records, torn = read_index(idx)
        server = srv or server
        if torn:
            report.torn_index = True
            report.problems.append(f"{idx.name}: torn last line skipped")
        index = (
            records.filter(pl.col("gap").is_null())
            .select(
                (pl.col("offset") + pl.col("len")).alias("_end"),
                "seq",
                "connection",
                "received_at",
                "session",
                pl.lit(True).alias("_indexed"),  # tells a frame with no index line
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
        if _tail is not None:
            pos = max(pos, _tail[0])
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
                    rows = rows.drop("seq", "connection", "received_at", "session").join(
                        index, on="_end", how="left", maintain_order="left"
                    )
                    # a frame's index line may hold no sequence (an unstamped message):
                    # only a frame the join did not find lacks its line
                    report.unindexed_frames += rows["_indexed"].null_count()
                    rows = rows.drop("_indexed")
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
        if report.unindexed_frames:
            report.problems.append(
                f"{idx.name}: {report.unindexed_frames} frame(s) of {path.name} have no index "
                f"line (a crash or a torn index): their arrival time is unknown"
            )
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
        yield from _codec_framed_chunks(fh, pos, chunk_bytes, lf=lf, tail=tail)
        return
    queue: deque[tuple[Future[Any], int, int]] = deque()
    # Each chunk is read straight into its own buffer, which is then cut in place at its
    # last terminator; the next read starts there (re-reading the partial frame, < one
    # frame). No concatenation or slicing: a 16 MiB chunk is copied once, by the read.
    # A chunk without any terminator is read again, twice the size, up to the frame limit:
    # past it the frame is dropped (as the codec does) and memory stays bounded.
    size = chunk_bytes
    limit = DEFAULT_MAX_FRAME_SIZE + len(term)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="amikit-convert") as pool:
        while True:
            fh.seek(pos)
            data = bytearray(size)
            got = fh.readinto(data)
            del data[got:]
            cut = data.rfind(term)
            if cut < 0:
                if got > limit:  # an oversized frame: skip it, whatever the chunk size
                    while queue:
                        job, start, end = queue.popleft()
                        rows, _, stats = job.result()
                        yield rows, stats, start, end, False
                    end = _skip_frame(fh, pos + got - len(term) + 1, term, chunk_bytes)
                    stats = ConvertStats(errors=1)
                    stats.problems.append(
                        f"frame at offset {pos} exceeds max_frame_size "
                        f"({DEFAULT_MAX_FRAME_SIZE} bytes), dropped"
                    )
                    yield _empty_rows_with_end(), stats, pos, end, False
                    pos, size = end, chunk_bytes
                    continue
                if got < size:  # end of file: only an incomplete frame (or nothing) left
                    carry = bytes(data)
                    break
                size = min(size * 2, limit + 1)  # a frame larger than a chunk: read more
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


def _skip_frame(fh: Any, pos: int, term: bytes, chunk_bytes: int) -> int:
    """The offset just past the next terminator at or after ``pos`` (the end of the file
    when there is none), read a chunk at a time."""
    fh.seek(pos)
    seam = b""
    while True:
        block = fh.read(chunk_bytes)
        if not block:
            return fh.tell()
        data = seam + block
        at = data.find(term)
        if at >= 0:
            return pos - len(seam) + at + len(term)
        seam = data[-(len(term) - 1) :]
        pos += len(block)


def _empty_rows_with_end() -> pl.DataFrame:
    from ._vector import _empty_rows, _finish, _with_end

    return _with_end(_finish(_empty_rows(), [], []), [])


def _codec_framed_chunks(
    fh: Any, pos: int, chunk_bytes: int, *, lf: bool, tail: list[bytes]
) -> Iterator[tuple[pl.DataFrame, ConvertStats, int, int, bool]]:
    """:func:`_parsed_chunks` for a stream with old Command output: one codec
    :class:`~amikit.protocol.Parser` frames the whole stream (linear at any chunk size,
    an oversized frame dropped with bounded memory, Command replies included), and the
    complete frames of each chunk go to the converter in one buffer."""
    from ..protocol import Parser, RemoteProtocolError

    term = b"\n\n" if lf else b"\r\n\r\n"
    parser = Parser(banner=False)
    parser.feed(b"X: y" + term)  # the line ending is known; the banner is already skipped
    window = bytearray()  # the stream from offset `base` on, not yet handed over
    base = pos
    while True:
        block = fh.read(chunk_bytes)
        stats = ConvertStats()
        errors = parser.errors
        try:
            msgs = parser.feed(block) if block else []
        except RemoteProtocolError as exc:
            msgs = exc.messages
            stats.problems.append(str(exc))
        stats.errors += parser.errors - errors
        window += block
        raws, ends, at = [], [], 0
        for m in msgs:  # each message is a contiguous, in-order piece of the stream
            raw = m.raw
            at = window.find(raw, at) + len(raw)
            raws.append(raw)
            ends.append(at)  # from `base`, as the caller adds it
        if raws:
            rows, _, more = rows_from_buffer(b"".join(raws), lf=lf, follows=True)
            stats.frames += more.frames
            stats.fallback += more.fallback
            stats.errors += more.errors
            stats.problems += more.problems
            rows = rows.with_columns(_ends_of(ends, rows))
        # keep only what the parser still holds: the frame in progress (a suffix)
        keep = 0 if parser.skipping else parser.buffered
        drop = max(len(window) - keep, at)
        del window[:drop]
        start, base = base, base + drop
        if not raws:
            if block and not stats.errors:
                continue  # inside a frame: nothing to hand over yet (no per-chunk cost)
            rows = _empty_rows_with_end()
        yield rows, stats, start, base, not block
        if not block:
            break
    tail[0] = bytes(window) if bytes(window).strip(b"\r\n") else b""


def _ends_of(ends: list[int], rows: pl.DataFrame) -> pl.Series:
    """The absolute ``_end`` of each row, from its frame number within the buffer."""
    import polars as pl

    return pl.Series("_end", ends, dtype=pl.Int64).gather(rows["frame"]).alias("_end")


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
    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
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


_INCOMPLETE = "incomplete Parquet file"


def _part_problem(path: Path) -> str | None:
    """Why a Parquet file is not a readable part of a recording, or None (impostors)."""
    import polars as pl

    if not part_is_complete(path):
        return _INCOMPLETE
    try:
        got = pl.read_parquet_schema(path)
    except Exception as exc:  # polars raises several types for a damaged footer
        return f"damaged Parquet footer ({type(exc).__name__})"
    missing = [c for c in KEY_COLUMNS if c not in got]
    if missing:
        return f"not an amikit recording: no {', '.join(repr(c) for c in missing)} column"
    want = polars_schema() | run_schema()
    wrong = [
        f"{name!r} is {got[name]}, expected {dtype}"
        for name, dtype in want.items()
        if name in got and not _same_type(got[name], dtype)
    ]
    if wrong:
        return "not an amikit recording: column " + "; ".join(wrong)
    return None


def _same_type(got: Any, want: Any) -> bool:
    import polars as pl

    if got == pl.Null:  # a column of nulls only (a frame built without the values)
        return True
    if want == pl.String:
        return got == pl.String or isinstance(got, pl.Categorical)
    return bool(got == want)


def _dataset_schema(root: Path) -> dict[str, Any]:
    schema = polars_schema()
    if has_run_columns(root):  # a collapsed recording: count/first/last per row
        schema |= run_schema()
    return schema


def _good_parts(root: Path, report: LoadReport) -> list[Path]:
    good = []
    for part in list_parts(root):
        problem = _part_problem(part)
        if problem is None:
            good.append(part)
        else:
            _skip_part(root, part, problem, report)
    if not good and report.torn_parts and not (root / MARKER).exists():
        raise RecordingFormatError(f"{root}: not an amikit recording ({report.problems[0]})")
    report.parts = len(good)
    return good


def _skip_part(root: Path, part: Path, problem: str, report: LoadReport) -> None:
    report.torn_parts.append(str(part))
    where = part.relative_to(root)
    if problem == _INCOMPLETE:
        report.problems.append(f"skipped incomplete part {where}")
    else:
        report.problems.append(f"skipped part {where}: {problem}")


def _scan_parts(parts: list[Path], schema: dict[str, Any]) -> pl.LazyFrame:
    import polars as pl

    if not parts:
        return pl.LazyFrame(schema=schema)
    return pl.scan_parquet(
        [str(p) for p in parts],
        schema=schema,
        hive_partitioning=False,
        missing_columns="insert",
        extra_columns="ignore",
    )


def _scan_dataset(root: Path, report: LoadReport) -> pl.LazyFrame:
    return _scan_parts(_good_parts(root, report), _dataset_schema(root))


def _load_dataset(root: Path, report: LoadReport) -> pl.DataFrame:
    """All good parts; a part whose pages turn out damaged is skipped (read one by one)."""
    import polars as pl

    schema = _dataset_schema(root)
    parts = _good_parts(root, report)
    try:
        # The streaming engine decodes a few parts at a time: the default engine holds
        # every part's decoded pages as well as the result (peak 3.3 GiB against 1.6 GiB
        # for 1M Asterisk 22 events; the same frame, bench_scale.py).
        return _scan_parts(parts, schema).collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError):
        pass
    frames = []
    for part in parts:
        try:
            frames.append(_scan_parts([part], schema).collect())
        except (pl.exceptions.PolarsError, OSError) as exc:
            _skip_part(root, part, f"damaged Parquet data ({type(exc).__name__})", report)
    report.parts = len(frames)
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def _check_file(path: Path) -> None:
    problem = _part_problem(path)
    if problem is not None:
        raise RecordingFormatError(f"{path}: {problem}")


def _index_tail(idx: Path, since_us: int | None) -> tuple[str | None, pl.DataFrame, bool]:
    """An index's server, its frame and gap records from before ``since_us`` on (all of
    them for None), and whether they are all of them. Read backwards in growing blocks:
    a long-running log's index is large, and a crash's tail is at its end."""
    import polars as pl

    from ._textlog import _index_schema

    with open(idx, "rb") as fh:
        head = fh.readline()
        start = fh.seek(0, os.SEEK_END) if since_us is not None else len(head)
        block = 1 << 16
        while start > len(head):
            start = max(len(head), start - block)
            block *= 4
            if start == len(head):
                break
            fh.seek(start)
            fh.readline()  # the rest of a line cut by the block start
            when = _record_time(fh.readline())
            if when is not None and since_us is not None and when < since_us:
                break
        fh.seek(start)
        if start > len(head):
            fh.readline()
        data = fh.read()
        # the records before the block's first session line belong to the session
        # named last before the block
        session = _session_before(fh, start) if start > len(head) else None
    data = data[: data.rfind(b"\n") + 1]
    schema = _index_schema()
    records = pl.read_ndjson(data, schema=schema) if data.strip() else pl.DataFrame(schema=schema)
    records = records.with_columns(
        pl.col("session").forward_fill().fill_null(pl.lit(session, dtype=pl.String))
    )
    return _header_server(head), records.filter(pl.col("amikit").is_null()), start <= len(head)


_SESSION_LINE = b'{"amikit": "session"'


def _session_before(fh: IO[bytes], end: int) -> str | None:
    """The session named by the last session line of an index before offset ``end``.

    Session lines are rare (one each time a writer opens the log), so this reads back
    from ``end`` in growing blocks until it finds one."""
    block = 1 << 16
    pos = end
    while pos > 0:
        start = max(0, pos - block)
        fh.seek(start)
        # the blocks overlap by a line's start, so a line cut by ``pos`` is still found
        at = fh.read(min(end, pos + len(_SESSION_LINE)) - start).rfind(_SESSION_LINE)
        if at >= 0:
            fh.seek(start + at)
            try:
                value = json.loads(fh.readline()).get("session")
            except ValueError:
                return None
            return value if isinstance(value, str) else None
        pos = start
        block *= 4
    return None


def _record_time(line: bytes) -> int | None:
    try:
        value = json.loads(line).get("received_at")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def _header_server(line: bytes) -> str | None:
    try:
        return json.loads(line).get("server")
    except (ValueError, AttributeError):
        return None


def _dataset_ends(df: pl.DataFrame) -> dict[str | None, tuple[int | None, int, int] | None]:
    """Per server, the key ``(received_at µs, connection, seq)`` of the dataset's last row;
    None for a server whose rows carry neither (recorded from a source without a clock)."""
    import polars as pl

    out: dict[str | None, tuple[int | None, int, int] | None] = dict.fromkeys(
        df["server"].unique().to_list()
    )
    ends = (
        # the four columns first: a filter of the whole frame would copy all ~90 of them
        df.lazy()
        .select("server", "received_at", "connection", "seq")
        .filter(pl.col("seq").is_not_null() | pl.col("received_at").is_not_null())
        .group_by("server")
        .agg(
            pl.col("received_at", "connection", "seq")
            .sort_by("received_at", "connection", "seq", nulls_last=False)
            .last()
        )
        .with_columns(
            pl.col("received_at").dt.epoch("us"), pl.col("connection", "seq").fill_null(-1)
        )
        .collect()
    )
    out.update({server: (at, conn, seq) for server, at, conn, seq in ends.iter_rows()})
    return out


def _newer(frames: pl.DataFrame, key: tuple[int | None, int, int] | None) -> pl.DataFrame:
    """Index records of frames after ``key`` (all of them without one)."""
    import polars as pl

    if key is None:
        return frames
    at, conn, seq = key
    ra = pl.col("received_at")
    c = pl.col("connection").fill_null(-1)
    later = (c > conn) | ((c == conn) & (pl.col("seq").fill_null(-1) > seq))
    if at is None:
        return frames.filter(later)
    return frames.filter(ra.is_null() | (ra > at) | ((ra == at) & later))


def _text_tail(root: Path, df: pl.DataFrame, report: LoadReport, fill: bool) -> pl.DataFrame:
    """Frames the text logs in ``root`` hold beyond the dataset's last row of their
    server (a crash cut the Parquet side first): counted in ``report.tail_frames``; with
    ``fill``, their rows (the same layout, arrival times from the index)."""
    import polars as pl

    if marked(root, "subset"):  # drop_noise/collapse: the text log holds more by design
        return df.clear()
    by_server: dict[str | None, list[Path]] = {}
    for log in _text_logs(root):
        if index_path(log).exists():
            with open(index_path(log), "rb") as fh:
                by_server.setdefault(_header_server(fh.readline()), []).append(log)
    if not by_server:  # Parquet alone (amikit convert): nothing to look at
        return df.clear()
    ends = _dataset_ends(df)
    tails: list[pl.DataFrame] = []
    for log_server, logs in by_server.items():
        if log_server in ends and ends[log_server] is None:
            continue  # the dataset's rows have no arrival time nor sequence to compare
        tails += _server_tail(logs, ends.get(log_server), report, fill)
    return pl.concat(tails) if tails else df.clear()


def _server_tail(
    logs: list[Path], key: tuple[int | None, int, int] | None, report: LoadReport, fill: bool
) -> list[pl.DataFrame]:
    """The rows (with ``fill``) of one server's logs beyond ``key``, oldest first."""
    import polars as pl

    tails: list[pl.DataFrame] = []
    for log in reversed(logs):  # the live log first; an older one while all is newer
        idx = index_path(log)
        server, records, whole = _index_tail(idx, None if key is None else key[0])
        frames = records.filter(pl.col("gap").is_null())
        newer = _newer(frames, key)
        ends = frames["offset"] + frames["len"]
        indexed_end = int(ends.max() or 0) if frames.height else 0  # type: ignore[arg-type]  # polars types max() as any literal; int on an int column
        count = newer.height + _frames_after(log, indexed_end)
        if count == 0:
            break
        report.tail_frames += count
        if fill:
            start = int(newer["offset"].min()) if newer.height else indexed_end  # type: ignore[arg-type]  # as max()
            tail_index = records.filter(pl.col("offset") >= start)
            rows = iter_text_rows(log, report=report, _tail=(start, server, tail_index))
            tails[:0] = list(rows)  # older logs' tails go first
        if not (whole and newer.height == frames.height):
            break  # what is older than this log's tail is in the dataset
    return tails


def _frames_after(log: Path, offset: int) -> int:
    """Complete frames in ``log`` after ``offset`` (frames whose index lines were lost)."""
    with open(log, "rb") as fh:
        fh.seek(offset)
        rest = fh.read()
    return rest.count(b"\r\n\r\n") or rest.count(b"\n\n")


def _load_text(paths: list[Path], report: LoadReport) -> pl.DataFrame:
    import polars as pl

    frames = [rows for p in paths for rows in iter_text_rows(p, report=report)]
    if not frames:
        return pl.DataFrame(schema=polars_schema())
    return pl.concat(frames, rechunk=True)


def load(path: str | Path, *, strict: bool = False, complete: bool = True) -> pl.DataFrame:
    """Load a recording as a polars DataFrame (one row per message, see ``_schema``).

    Parameters
    ----------
    path : str or Path
        A Parquet dataset directory (what :class:`amikit.Recorder` and ``amikit convert``
        write), a ``.parquet`` file, an amikit text log, a directory of text logs, or a raw
        AMI capture.
    strict : bool
        Raise instead of warning when part of the recording is unreadable.
    complete : bool
        For a dataset with text logs beside it (what the recorder writes): also return the
        frames the text logs hold beyond the last Parquet part, converted from the text.
        The recorder writes the text log first, so a crash (``kill -9``, power loss) or a
        recorder still running leaves the newest messages in the text log only: on by
        default, so that nothing the recorder wrote is invisible (it costs a look at the
        end of the index when there is nothing to add). ``complete=False`` returns the
        parts alone and counts those frames in a warning. Not done for a recording made
        with ``drop_noise``/``collapse`` (its parts hold fewer rows by design).

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
        A torn part file or a truncated text tail was skipped; frames of a text log have
        no index line; or the text log beside a dataset goes beyond it (see ``complete``).
    """
    import polars as pl

    path = Path(path)
    kind = _sniff(path)
    report = LoadReport(str(path), kind)
    if kind == "dataset":
        df = _load_dataset(path, report)
        tail = _text_tail(path, df, report, complete)
        if tail.height:
            df = pl.concat([df, tail], how="diagonal_relaxed").select(df.columns)
    elif kind == "parquet":
        df = scan(path).collect()
    elif kind == "text-dir":
        df = _load_text(_text_logs(path), report)
    else:
        df = _load_text([path], report)
    report.frames = df.height
    _report_problems(report, strict)
    if report.tail_frames and not complete:
        warnings.warn(
            f"{path}: its text log holds {report.tail_frames} frame(s) newer than the last "
            f"Parquet part (the recorder crashed or is still running); "
            f"amikit.load(...) without complete=False adds them",
            IncompleteRecordingWarning,
            stacklevel=2,
        )
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
        _check_file(path)
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
