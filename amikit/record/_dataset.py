"""The Parquet dataset: a directory of complete part files, Hive-partitioned.

Layout::

    ROOT/_amikit.json                                   marker: format and version
    ROOT/server=<host%3Aport>/date=YYYY-MM-DD/part-<UTC stamp>-<pid>-<n>.parquet

Strategy
--------
A Parquet file is only readable once its footer is written, and one unreadable file makes
``scan_parquet`` over the directory fail (docs/recording-layout.md §3). So a part is written under a
hidden temporary name (``.part-….parquet.tmp``, which no reader globs) and published with
``os.replace`` (atomic on POSIX and Windows) once complete, then the directory entry is
fsynced. Invariants:

Rule 1: every visible ``*.parquet`` file is complete; a crash leaves at most a hidden
        ``.tmp`` file, which readers ignore and the next writer in the directory removes.
Rule 2: one part holds one flush of one (server, date) partition, rows in arrival order;
        part names sort in time order across partitions (UTC stamp first), so reading the
        parts sorted by file name gives the rows in recorded order.
Rule 3: every part has the full schema of :func:`~amikit.record._schema.polars_schema`
        (``server`` included in the file, so a part is self-describing); partition values
        are percent-encoded the way Hive does it.
Rule 4: a collapsed recording's parts also carry the run columns (``count``, ``first``,
        ``last``: :data:`~amikit.record._schema.RUN_COLUMNS`); the marker then says
        ``"run_columns": true`` so readers add them (null in parts written without them).

Rule 5: a part's string columns are plain Parquet strings. A writer may hand over
        categorical columns of the same strings (``convert`` does: the Parquet writer then
        takes their dictionaries as they are, at about 0.6 instead of 1.0 CPU-s per 100 MB);
        they are written dictionary-encoded as always, under the schema of the String
        layout, so every reader (polars, pyarrow, DuckDB) sees strings, never categories.

Rule 6: a writer may publish small parts often (the recorder does, so that a crash loses
        no more Parquet rows than text) and later compact them (:meth:`DatasetWriter.compact`):
        one part, named after the first small one so it sorts in its place, replaces them,
        and its metadata lists their names (``amikit.replaces``). It is published before the
        small parts are removed; a crash in between leaves both, and readers skip the
        parts a compacted part replaces (:func:`replaced_parts`).

Readers (``amikit.load``) also check each part's magic bytes and skip, with a warning, a part
that is not a complete Parquet file (copied half-way, damaged disk), so one bad part never
makes the dataset unreadable.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, unquote

from ._schema import RUN_COLUMNS, polars_schema, run_schema

#: The Parquet codecs polars writes.
ParquetCompression = Literal["lz4", "uncompressed", "snappy", "gzip", "brotli", "zstd"]

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "MARKER",
    "DatasetWriter",
    "is_dataset",
    "list_parts",
    "part_is_complete",
    "replaced_parts",
]

MARKER = "_amikit.json"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_MAGIC = b"PAR1"
_REPLACES = "amikit.replaces"  # metadata key of a compacted part (Rule 6)
_COMPACTED = "c.parquet"  # name ending of a compacted part
_MARKER_LOCK = threading.Lock()


_LAYOUTS: dict[tuple[tuple[str, str], ...], dict[str, str] | None] = {}


def _plain_strings(rows: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str] | None]:
    """``rows`` and the metadata to write them with, so that strings stay strings (Rule 5).

    polars records a frame's Arrow schema in the file (``ARROW:schema``), where a
    categorical column would stay categorical for every later reader. The same key, taken
    from an empty frame of the String layout, declares the strings the data really holds;
    the encoding (a dictionary page, then codes) is what Parquet strings use anyway. Whether
    this polars honours the key is checked once, on a one-row file; if not, the columns are
    cast back to strings here (correct, only slower).
    """
    import io

    import polars as pl

    categorical = [c for c, t in rows.schema.items() if isinstance(t, pl.Categorical)]
    if not categorical:
        return rows, None
    plain = {c: pl.String if c in categorical else t for c, t in rows.schema.items()}
    key = tuple((name, str(dtype)) for name, dtype in plain.items())
    if key not in _LAYOUTS:
        buffer = io.BytesIO()
        pl.DataFrame(schema=plain).write_parquet(buffer)
        buffer.seek(0)
        layout: dict[str, str] | None = {
            "ARROW:schema": pl.read_parquet_metadata(buffer)["ARROW:schema"]
        }
        probe = io.BytesIO()
        rows.head(1).write_parquet(probe, metadata=layout)
        probe.seek(0)
        if pl.read_parquet_schema(probe) != pl.Schema(plain):
            layout = None
        if len(_LAYOUTS) > 16:
            _LAYOUTS.clear()
        _LAYOUTS[key] = layout
    layout = _LAYOUTS[key]
    if layout is None:
        return rows.with_columns(pl.col(categorical).cast(pl.String)), None
    return rows, layout


def _conform(rows: pl.DataFrame, schema: dict, fix: dict) -> pl.DataFrame:
    """``rows`` in the recording's column order and types, or a :class:`UsageError` that
    names the columns at fault (not a raw polars error)."""
    import polars as pl

    from .._exceptions import UsageError

    missing = [c for c in schema if c not in rows.columns]
    if missing:
        raise UsageError(f"rows for a recording lack the column(s) {', '.join(missing)}")
    try:
        return rows.select(list(schema)).cast(fix)  # type: ignore[arg-type]
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        wrong = ", ".join(f"{c} ({rows.schema[c]}, expected {fix[c]})" for c in fix)
        raise UsageError(f"rows for a recording have wrong column types: {wrong}") from exc


def is_dataset(path: Path) -> bool:
    """True for a directory that holds an amikit dataset (marker or any part file)."""
    if not path.is_dir():
        return False
    if (path / MARKER).exists():
        return True
    return next(iter(list_parts(path)), None) is not None


def has_run_columns(root: Path) -> bool:
    """True when the marker says some parts carry the run columns (Rule 4)."""
    return marked(root, "run_columns")


def marked(root: Path, flag: str) -> bool:
    """True when the marker file sets ``flag`` (see :meth:`DatasetWriter.mark`)."""
    try:
        return bool(json.loads((root / MARKER).read_text()).get(flag))
    except (OSError, ValueError, AttributeError):
        return False


def part_is_complete(path: Path) -> bool:
    """Cheap check that a file is a whole Parquet file: magic bytes at both ends."""
    try:
        size = path.stat().st_size
        if size < 12:
            return False
        with open(path, "rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
    except OSError:
        return False
    return head == _MAGIC and tail == _MAGIC


def list_parts(root: Path) -> list[Path]:
    """Published part files under ``root``, in recorded order (Rule 2), less the small
    parts a compacted part replaces (Rule 6: left by a crash during compaction)."""
    parts = [p for p in root.rglob("*.parquet") if not p.name.startswith(".")]
    replaced = replaced_parts(parts)
    if replaced:
        parts = [p for p in parts if p not in replaced]
    parts.sort(key=lambda p: (p.name, str(p)))
    return parts


def replaced_parts(parts: list[Path]) -> set[Path]:
    """The parts among ``parts`` that a compacted part also among them replaces."""
    import polars as pl

    names = set(parts)
    out: set[Path] = set()
    for part in parts:
        if not part.name.endswith(_COMPACTED):
            continue
        try:
            listed = json.loads(pl.read_parquet_metadata(part).get(_REPLACES, "[]"))
        except Exception:  # a damaged compacted part: the loader reports it
            continue
        out |= {part.with_name(n) for n in listed if part.with_name(n) in names}
    return out


def partition_dir(root: Path, server: str | None, date: str | None) -> Path:
    """``root/server=…/date=…`` with Hive-style percent-encoding (Rule 3)."""
    s = quote(server, safe="") if server else NULL_PARTITION
    d = date or NULL_PARTITION
    return root / f"server={s}" / f"date={d}"


def partition_value(name: str) -> str | None:
    """Decode one ``key=value`` directory name's value."""
    value = name.split("=", 1)[1] if "=" in name else name
    return None if value == NULL_PARTITION else unquote(value)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class DatasetWriter:
    """Write row frames as atomically published, partitioned part files.

    Parameters
    ----------
    root : path
        The dataset directory (created if missing).
    compression : str
        Parquet codec (``"zstd"`` by default: the smallest files at about the same speed).
    compression_level : int, optional
        Codec level; zstd level 1 by default (about 30 % less CPU than the default level for
        files about 15 % larger: the writer is a hot path of ``convert`` and the recorder).
    fsync : bool
        fsync each part before publishing it (durable against power loss; a process crash
        alone never needs it).
    private : bool
        Create files 0600 and directories 0700 (less umask): recordings hold caller
        numbers and names. False: the usual 0666 / 0777 less umask.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        compression: ParquetCompression = "zstd",
        compression_level: int | None = 1,
        fsync: bool = True,
        private: bool = True,
    ):
        from ._files import make_private_dir

        self.private = private
        self.root = Path(root)
        self.compression = compression
        self.compression_level = compression_level if compression == "zstd" else None
        self.fsync = fsync
        self.parts_written = 0
        self.rows_written = 0
        self._counter = 0
        self._run_columns_marked = False
        make_private_dir(self.root, private)
        marker = self.root / MARKER
        if not marker.exists():
            self._write_marker({"format": "amikit-recording", "version": 1})
        self._remove_stale_tmp()

    def _mark_run_columns(self) -> None:
        if self._run_columns_marked:
            return
        self.mark("run_columns")
        self._run_columns_marked = True

    def mark(self, flag: str) -> None:
        """Set ``flag`` true in the marker file (``run_columns``; ``subset``: the parts
        hold only some of the messages of the text log beside them, by design)."""
        marker = self.root / MARKER
        # One writer per server may share the folder (`amikit record A B`), each on its own
        # thread: read-modify-write under one lock, or one writer's flag could be lost.
        with _MARKER_LOCK:
            try:
                info = json.loads(marker.read_text())
            except (OSError, ValueError):
                info = {"format": "amikit-recording", "version": 1}
            if not info.get(flag):
                info[flag] = True
                self._write_marker(info)

    def _write_marker(self, info: dict) -> None:
        from ._files import make_private_file

        # a temporary of this thread's own: two writers never rename each other's
        tmp = self.root / f".{MARKER}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(json.dumps(info) + "\n")
        make_private_file(tmp, self.private)
        os.replace(tmp, self.root / MARKER)

    def _remove_stale_tmp(self) -> None:
        # Rule 1: leftovers of a crashed writer. Only old ones: another live writer in the
        # same directory may be writing a fresh one right now.
        cutoff = time.time() - 3600
        for tmp in self.root.rglob(".part-*.parquet.tmp"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except OSError:
                pass

    def write(self, rows: pl.DataFrame) -> list[Path]:
        """Publish ``rows`` (full schema) as one part per (server, date) partition."""
        import polars as pl

        if rows.height == 0:
            return []
        schema = polars_schema()
        if all(c in rows.columns for c in RUN_COLUMNS):  # Rule 4
            schema |= run_schema()
            self._mark_run_columns()
        got = rows.schema
        fix = {
            c: t
            for c, t in schema.items()
            if got.get(c) != t and not (t == pl.String and isinstance(got.get(c), pl.Categorical))
        }
        if fix or list(got) != list(schema):  # Rule 5: categorical strings stay as they are
            rows = _conform(rows, schema, fix)
        # Rule 2: the date never goes backwards within one write (rows without a time take
        # their neighbours' date), so partitions are contiguous runs and order survives.
        when = (
            pl.coalesce(pl.col("received_at"), pl.col("timestamp"))
            .dt.date()
            .forward_fill()
            .backward_fill()
            .cum_max()
        )
        # The dates are formatted only for the distinct keys (formatting every row's date
        # was 1 % of convert), unless the rows span several partitions.
        keyed = rows.with_columns(when.alias("_date"))
        out = []
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        keys = (
            keyed.select("server", "_date")
            .unique(maintain_order=True)
            .with_columns(pl.col("_date").cast(pl.String))
        )
        if keys.height == 1:  # the usual case: no copy
            groups = {tuple(keys.row(0)): keyed}
        else:
            keyed = keyed.with_columns(pl.col("_date").cast(pl.String))
            groups = keyed.partition_by(["server", "_date"], maintain_order=True, as_dict=True)
        for (server, date), part in groups.items():
            out.append(self._publish(part.drop("_date"), server, date, stamp))  # type: ignore[arg-type]
        return out

    def compact(self, parts: list[Path]) -> list[Path]:
        """Replace each partition's run of ``parts`` (written by this writer, in order) by
        one part (Rule 6); returns the parts published."""
        import polars as pl

        by_dir: dict[Path, list[Path]] = {}
        for part in parts:
            by_dir.setdefault(part.parent, []).append(part)
        out = []
        for directory, group in by_dir.items():
            if len(group) < 2:
                continue
            rows = pl.concat([pl.read_parquet(p) for p in group], how="diagonal_relaxed")
            name = group[0].name[: -len(".parquet")] + _COMPACTED
            replaces = json.dumps([p.name for p in group])
            out.append(self._write_part(rows, directory, name, {_REPLACES: replaces}))
            for part in group:
                part.unlink(missing_ok=True)
            self.parts_written -= len(group)
            self.rows_written -= rows.height
        return out

    def _publish(
        self, rows: pl.DataFrame, server: str | None, date: str | None, stamp: str
    ) -> Path:
        directory = partition_dir(self.root, server, date)
        self._counter += 1
        name = f"part-{stamp}-{os.getpid()}-{self._counter:06d}.parquet"
        return self._write_part(rows, directory, name, None)

    def _write_part(
        self, rows: pl.DataFrame, directory: Path, name: str, extra: dict[str, str] | None
    ) -> Path:
        from ._files import make_private_dir, make_private_file

        make_private_dir(directory, self.private)
        tmp = directory / f".{name}.tmp"
        final = directory / name
        rows, metadata = _plain_strings(rows)
        if extra:
            metadata = {**(metadata or {}), **extra}
        try:
            rows.write_parquet(
                tmp,
                compression=self.compression,
                compression_level=self.compression_level,
                statistics=True,
                metadata=metadata,
            )
            make_private_file(tmp, self.private)
            if self.fsync:
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk gets its space back
            raise
        if self.fsync:
            _fsync_dir(directory)
        self.parts_written += 1
        self.rows_written += rows.height
        return final
