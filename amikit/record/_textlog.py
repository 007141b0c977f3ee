"""The classic text log (``ami-log.txt``) and its sidecar index.

Format
------
``ami-log.txt`` holds every received frame exactly as it came off the wire (CRLF line ends,
the blank line that ends each message included), one after the other: it is ordinary AMI
text, so ``tail -f`` shows it, ``grep`` searches it, and :class:`amikit.protocol.Parser`
replays it byte for byte. Nothing is added inside it: arrival time and sequence numbers would
either break the format or be mistaken for headers.

They live next to it, in ``ami-log.txt.index.jsonl``, one JSON object per line:

* first line, a header: ``{"amikit": "text-log-index", "version": 1, "server": "host:port",
  "log": "ami-log.txt"}``;
* one line per frame: ``{"offset": 0, "len": 351, "seq": 1, "connection": 1,
  "received_at": 1764185597123456}`` (byte span in the log; ``received_at`` in microseconds
  since the Unix epoch, UTC);
* one line per connection gap: ``{"gap": true, "offset": …, "connection": 2,
  "received_at": …, "gap_start": …, "gap_end": …, "reason": "…"}`` (``offset`` is the log
  size when the gap was noted: the gap comes before the frame that starts there).

Strategy
--------
Rule 1: the log only ever holds whole frames plus, after a crash, a torn last frame. On
        reopening for append, a torn tail of the log (bytes after the last blank line) and a
        torn last index line are cut off first, so appended frames never glue onto them.
Rule 2: the log is written before the index line of the same frame; readers match frames
        to index lines by end offset, so a frame whose index line was lost still loads
        (without arrival time).
Rule 3: both files are flushed by :meth:`TextLogWriter.flush`, which the recorder calls at
        least every 0.5 s (``tail -f`` sees an event within a second).
"""

from __future__ import annotations

import errno
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

__all__ = ["INDEX_SUFFIX", "TextLogWriter", "index_path", "read_index"]

INDEX_SUFFIX = ".index.jsonl"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TAIL_SCAN = 1 << 22


def index_path(log: Path) -> Path:
    """The sidecar index of a text log."""
    return log.with_name(log.name + INDEX_SUFFIX)


def _micros(when: datetime | None) -> int | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _cut_torn_tail(path: Path, term: bytes) -> None:
    """Rule 1: drop bytes after the last complete frame of an existing log."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "r+b") as fh:
        start = max(0, size - _TAIL_SCAN)
        fh.seek(start)
        tail = fh.read()
        if tail.endswith(term):
            return
        cut = tail.rfind(term)
        new_size = start + cut + len(term) if cut >= 0 else (start if start else 0)
        fh.truncate(new_size)


def _cut_torn_line(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "r+b") as fh:
        start = max(0, size - 65536)
        fh.seek(start)
        tail = fh.read()
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        fh.truncate(start + cut + 1 if cut >= 0 else start)


class TextLogWriter:
    """Append frames to an ``ami-log.txt``-style log and its index (see the module doc).

    Not thread-safe: one thread (the recorder's writer) owns it.

    Parameters
    ----------
    path : path
        The log file; created, or appended to.
    server : str, optional
        ``host:port`` written in the index header.
    session : str, optional
        The recording session of the frames written from now on (a session line in the
        index; one log may hold several sessions).
    private : bool
        Create the files 0600 and directories 0700 (less umask): the log holds caller
        numbers and names. False: the usual 0666 / 0777 less umask.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        server: str | None = None,
        session: str | None = None,
        private: bool = True,
    ) -> None:
        from ._files import make_private_dir, open_private

        self.path = Path(path)
        make_private_dir(self.path.parent, private)
        self.index = index_path(self.path)
        if self.path.exists():
            _cut_torn_tail(self.path, b"\r\n\r\n")
        if self.index.exists():
            _cut_torn_line(self.index)
        self._log: IO[bytes] = os.fdopen(open_private(self.path, private), "ab")
        self._idx: IO[str] = os.fdopen(open_private(self.index, private), "a", encoding="utf-8")
        self.offset = self._log.tell()
        self.frames = 0
        if self._idx.tell() == 0:
            header = {"amikit": "text-log-index", "version": 1, "server": server}
            header["log"] = self.path.name
            self._idx.write(json.dumps(header) + "\n")
        if session is not None:
            # the frames indexed after this line belong to this recording session
            self._idx.write(json.dumps({"amikit": "session", "session": session}) + "\n")
        # On disk at once: another server's recorder starting next in the same folder reads
        # this header to learn that ``ami-log.txt`` is taken (``log_for_server``); left in
        # the buffer, both would append to the one log and their index offsets would clash.
        self._idx.flush()

    @property
    def size(self) -> int:
        """Bytes in the log so far."""
        return self.offset

    def write(
        self,
        raw: bytes,
        *,
        seq: int | None = None,
        connection: int | None = None,
        received_at: datetime | None = None,
    ) -> None:
        """Append one frame (``Message.raw``: exact bytes, blank line included)."""
        self.write_many([(raw, seq, connection, received_at)])

    def write_many(
        self, frames: list[tuple[bytes, int | None, int | None, datetime | None]]
    ) -> None:
        """Append frames ``(raw, seq, connection, received_at)`` in one go (the fast path)."""
        if not frames:
            return
        offset = self.offset
        lines = []
        last_when: datetime | None = None
        last_us = "null"
        for raw, seq, connection, when in frames:
            if when is not last_when:
                last_when = when
                last_us = "null" if when is None else str(_micros(when))
            n = len(raw)
            lines.append(
                f'{{"offset":{offset},"len":{n},"seq":{"null" if seq is None else seq},'
                f'"connection":{"null" if connection is None else connection},'
                f'"received_at":{last_us}}}\n'
            )
            offset += n
        self._log.write(b"".join(f[0] for f in frames))
        self._idx.write("".join(lines))
        self.offset = offset
        self.frames += len(frames)

    def write_columns(
        self,
        raws: list[bytes],
        seqs: list[int | None],
        connections: list[int | None],
        micros: list[int | None],
    ) -> None:
        """Append many frames at once; the index lines are built in bulk by polars."""
        if not raws:
            return
        import polars as pl

        lens = pl.Series("len", [len(r) for r in raws], dtype=pl.Int64)
        offsets = lens.cum_sum() - lens + self.offset
        index = pl.DataFrame(
            {
                "offset": offsets,
                "len": lens,
                "seq": pl.Series(seqs, dtype=pl.Int64),
                "connection": pl.Series(connections, dtype=pl.Int32),
                "received_at": pl.Series(micros, dtype=pl.Int64),
            }
        )
        # Every polars step before the first byte is written: polars may turn a Ctrl-C meant
        # for the program into a KeyboardInterrupt here (see the recorder), and then nothing
        # is half-written and the call can be made again.
        lines = index.write_ndjson()
        self._log.write(b"".join(raws))
        self._idx.write(lines)
        self.offset += int(lens.sum())
        self.frames += len(raws)

    def gap(
        self,
        *,
        connection: int | None,
        received_at: datetime | None,
        gap_start: datetime | None,
        gap_end: datetime | None,
        reason: str | None,
    ) -> None:
        """Note a connection gap before the next frame."""
        record: dict[str, Any] = {
            "gap": True,
            "offset": self.offset,
            "connection": connection,
            "received_at": _micros(received_at),
            "gap_start": _micros(gap_start),
            "gap_end": _micros(gap_end),
            "reason": reason,
        }
        self._idx.write(json.dumps(record, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        """Push both files to the OS (visible to ``tail -f`` and to readers)."""
        self._log.flush()
        self._idx.flush()

    def check(self) -> None:
        """Raise if the log or its index is no longer the file being written (removed or
        replaced under the recorder): writes would go on, into a file nobody can read."""
        for path, fh in ((self.path, self._log), (self.index, self._idx)):
            try:
                same = os.path.samestat(os.stat(path), os.fstat(fh.fileno()))
            except FileNotFoundError:
                same = False
            if not same:
                raise FileNotFoundError(
                    errno.ENOENT, "removed or replaced while recording", str(path)
                )

    def fsync(self) -> None:
        self.flush()
        os.fsync(self._log.fileno())
        os.fsync(self._idx.fileno())

    def close(self) -> None:
        if not self._log.closed:
            self.flush()
            self._log.close()
            self._idx.close()


_INDEX_SCHEMA: dict[str, Any] | None = None


def index_server(log: Path) -> tuple[bool, str | None]:
    """``(has a header, server it names)`` for the index of ``log``."""
    try:
        with open(index_path(log), "rb") as fh:
            header = json.loads(fh.readline())
    except (OSError, ValueError):
        return False, None
    if not isinstance(header, dict) or header.get("amikit") != "text-log-index":
        return False, None
    return True, header.get("server")


def log_for_server(directory: Path, server: str | None) -> Path:
    """The live text log of ``server`` in ``directory``: ``ami-log.txt`` unless that one
    already records another server, then ``ami-log-<host%3Aport>.txt`` (one log per
    server, so each index header names the server of every frame in its log)."""
    from urllib.parse import quote

    default = directory / "ami-log.txt"
    has_header, owner = index_server(default)
    if not default.exists() or not has_header or owner == server:
        return default
    return directory / f"ami-log-{quote(server or 'unknown', safe='')}.txt"


def _index_schema() -> dict[str, Any]:
    import polars as pl

    return {
        "amikit": pl.String,
        "server": pl.String,
        "session": pl.String,
        "gap": pl.Boolean,
        "offset": pl.Int64,
        "len": pl.Int64,
        "seq": pl.Int64,
        "connection": pl.Int32,
        "received_at": pl.Int64,
        "gap_start": pl.Int64,
        "gap_end": pl.Int64,
        "reason": pl.String,
    }


def read_index(path: Path) -> tuple[str | None, pl.DataFrame, bool]:
    """Read an index: ``(server, records, torn)``; a torn last line is skipped."""
    import polars as pl

    data = path.read_bytes()
    torn = bool(data) and not data.endswith(b"\n")
    if torn:
        data = data[: data.rfind(b"\n") + 1]
    if not data.strip():
        return None, pl.DataFrame(schema=_index_schema()), torn
    records = pl.read_ndjson(data, schema=_index_schema())
    header = records.filter(pl.col("amikit") == "text-log-index")
    server = header["server"][0] if header.height else None
    # each record belongs to the session of the last session line before it
    records = records.with_columns(pl.col("session").forward_fill())
    return server, records.filter(pl.col("amikit").is_null()), torn
