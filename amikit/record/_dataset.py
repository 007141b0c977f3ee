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

Readers (``amikit.load``) also check each part's magic bytes and skip, with a warning, a part
that is not a complete Parquet file (copied half-way, damaged disk), so one bad part never
makes the dataset unreadable.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from ._schema import RUN_COLUMNS, polars_schema, run_schema

if TYPE_CHECKING:
    import polars as pl

__all__ = ["MARKER", "DatasetWriter", "is_dataset", "list_parts", "part_is_complete"]

MARKER = "_amikit.json"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_MAGIC = b"PAR1"


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
        layout = {"ARROW:schema": pl.read_parquet_metadata(buffer)["ARROW:schema"]}
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


def is_dataset(path: Path) -> bool:
    """True for a directory that holds an amikit dataset (marker or any part file)."""
    if not path.is_dir():
        return False
    if (path / MARKER).exists():
        return True
    return next(iter(list_parts(path)), None) is not None


def has_run_columns(root: Path) -> bool:
    """True when the marker says some parts carry the run columns (Rule 4)."""
    try:
        return bool(json.loads((root / MARKER).read_text()).get("run_columns"))
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
    """Published part files under ``root``, in recorded order (Rule 2)."""
    parts = [p for p in root.rglob("*.parquet") if not p.name.startswith(".")]
    parts.sort(key=lambda p: (p.name, str(p)))
    return parts


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
    """

    def __init__(
        self,
        root: str | Path,
        *,
        compression: str = "zstd",
        compression_level: int | None = 1,
        fsync: bool = True,
    ):
        self.root = Path(root)
        self.compression = compression
        self.compression_level = compression_level if compression == "zstd" else None
        self.fsync = fsync
        self.parts_written = 0
        self.rows_written = 0
        self._counter = 0
        self._run_columns_marked = False
        self.root.mkdir(parents=True, exist_ok=True)
        marker = self.root / MARKER
        if not marker.exists():
            tmp = self.root / f".{MARKER}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps({"format": "amikit-recording", "version": 1}) + "\n")
            os.replace(tmp, marker)
        self._remove_stale_tmp()

    def _mark_run_columns(self) -> None:
        if self._run_columns_marked:
            return
        marker = self.root / MARKER
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            info = {"format": "amikit-recording", "version": 1}
        if not info.get("run_columns"):
            info["run_columns"] = True
            tmp = self.root / f".{MARKER}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(info) + "\n")
            os.replace(tmp, marker)
        self._run_columns_marked = True

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
            rows = rows.select(list(schema)).cast(fix)  # type: ignore[arg-type]
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

    def _publish(
        self, rows: pl.DataFrame, server: str | None, date: str | None, stamp: str
    ) -> Path:
        directory = partition_dir(self.root, server, date)
        directory.mkdir(parents=True, exist_ok=True)
        self._counter += 1
        name = f"part-{stamp}-{os.getpid()}-{self._counter:06d}.parquet"
        tmp = directory / f".{name}.tmp"
        final = directory / name
        rows, metadata = _plain_strings(rows)
        rows.write_parquet(
            tmp,
            compression=self.compression,
            compression_level=self.compression_level,
            statistics=True,
            metadata=metadata,
        )
        if self.fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, final)
        if self.fsync:
            _fsync_dir(directory)
        self.parts_written += 1
        self.rows_written += rows.height
        return final
