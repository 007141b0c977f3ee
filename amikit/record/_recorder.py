"""The recorder: every received message to a text log and a Parquet dataset, losing nothing.

Strategy
--------
The client delivers each message to the recorder's callback on its loop thread
(``thread="loop"``, ``lossless=True``). That callback only appends the message to a list
under a lock (well under a microsecond), so the loop never waits on a disk. A writer
thread wakes at least every 0.25 s, takes the list, and

* appends the frames, byte for byte, to ``ami-log.txt`` (plus one index line each: see
  :mod:`amikit.record._textlog`) and flushes it at least every 0.5 s, so ``tail -f`` shows
  an event within a second;
* collects the messages for Parquet and, every ``flush_events`` messages or
  ``flush_seconds`` seconds (0.5 by default, the text log's pace), whichever comes first,
  turns them into rows in bulk (the vectorised converter, checked equal to
  :func:`message_row`) and publishes one part file atomically
  (:mod:`amikit.record._dataset`); every ``compact_parts`` parts, and at ``stop()``, it
  compacts those small parts into one (``DatasetWriter.compact``).

Invariants
----------
Rule 1: nothing received is dropped while the disk takes the writes; ``stop()`` drains the
        buffer. The buffer is capped (``max_backlog``): a writer that cannot keep up never
        makes memory grow without bound; what the cap turns away is counted (``dropped``).
Rule 5: a write error is never silent. The first one (disk full, permission lost, the text
        log removed) stops the recorder at once: it is logged, handed to ``on_error``,
        kept in ``error`` (``running`` turns False), raised by ``flush()`` and ``stop()``;
        later messages are counted as dropped, not buffered. With
        ``parquet_failure="keep-text"`` a Parquet error stops only the Parquet side and
        the text log goes on.
Rule 2: a crash (even ``kill -9``) loses at most the messages since the last Parquet flush
        and the text since the last text flush; what was published stays readable. Both
        flush at the same pace, so the dataset loses about what the text log loses, and
        ``amikit.load(dir, complete=True)`` adds what the text log holds beyond the dataset.
Rule 3: the Login/Challenge exchange is never recorded; if outgoing actions are recorded
        (:meth:`Recorder.record_action`), ``Secret`` and ``Key`` values are masked.
Rule 4: a connection gap (disconnect -> reconnect) is written as a gap row / gap record in
        its place in the sequence.
"""

from __future__ import annotations

import _thread
import fnmatch
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._exceptions import UsageError
from ..protocol import Message, encode_message, mask_value

_log = logging.getLogger("amikit.record")

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Recorder", "RecordingSink"]

log = logging.getLogger("amikit.record")

_T = TypeVar("_T")
_WAKE = 0.25
_TEXT_FLUSH = 0.5
_AUTH_ACTIONS = frozenset({"login", "challenge"})
# How often a write interrupted by a Ctrl-C meant for the program is tried again, and the
# pause before each new try (growing: 0.05 s, 0.1 s, ... about 2.7 s in all), so that the
# main thread has taken the interrupt before polars looks for one again.
_INTERRUPT_RETRIES = 10
_INTERRUPT_PAUSE = 0.05
#: Messages the recorder holds at most while its writer catches up (about 3 minutes at
#: 3,000 events/s, a few hundred MB): beyond it, messages are counted as dropped.
DEFAULT_MAX_BACKLOG = 500_000
_PARQUET_FAILURE = ("stop", "keep-text")


_ROTATE_LOCK = threading.Lock()


def rotated_log_name(directory: Path, stamp: str) -> Path:
    """``directory/ami-log-<stamp>.txt``, the stamp moved on by a microsecond until neither
    that log nor its index exists (another server's log rotated at the same time)."""
    from ._textlog import index_path

    while True:
        target = directory / f"ami-log-{stamp}.txt"
        if not target.exists() and not index_path(target).exists():
            return target
        moved = datetime.strptime(stamp, "%Y%m%dT%H%M%S%f") + timedelta(microseconds=1)
        stamp = moved.strftime("%Y%m%dT%H%M%S%f")


def _despite_interrupts(step: Callable[[], _T]) -> _T:
    """``step()`` (polars work on the writer thread), tried again when it is interrupted.

    polars turns a Ctrl-C that arrives while it computes into a KeyboardInterrupt in
    whichever thread runs the query: here, the writer. The interrupt was meant for the
    program, not for the recording: it is handed to the main thread once (its own SIGINT
    handler runs) and the step runs again after a pause, until the main thread has taken
    it. Each step does its polars work before it writes anything (a part goes to a hidden
    temporary file first), so a retried step never writes twice.
    """
    handed_on = False
    for attempt in range(_INTERRUPT_RETRIES + 1):
        try:
            return step()
        except KeyboardInterrupt:
            if attempt == _INTERRUPT_RETRIES:
                raise
            if not handed_on:
                _thread.interrupt_main()
                handed_on = True
            time.sleep(_INTERRUPT_PAUSE * (attempt + 1))
    raise AssertionError("unreachable")  # the last attempt returns or raises


class _Gap:
    __slots__ = ("connection", "gap_end", "gap_start", "reason", "received_at")

    def __init__(
        self,
        connection: int | None,
        received_at: datetime,
        gap_start: datetime | None,
        gap_end: datetime | None,
        reason: str | None,
    ) -> None:
        self.connection = connection
        self.received_at = received_at
        self.gap_start = gap_start
        self.gap_end = gap_end
        self.reason = reason


def _matcher(patterns: str | Iterable[str] | None) -> list[str] | None:
    if patterns is None:
        return None
    if isinstance(patterns, str):
        patterns = [patterns]
    return [p.lower() for p in patterns]


def _matches(name: str, patterns: list[str]) -> bool:
    low = name.lower()
    return any(fnmatch.fnmatchcase(low, p) for p in patterns)


def _micros_list(msgs: list[Message]) -> list[int | None]:
    """Arrival times as µs since the epoch (the client shares one datetime per read)."""
    from ._textlog import _micros

    out: list[int | None] = []
    last: object = object()
    value: int | None = None
    for m in msgs:
        when = m.received_at
        if when is not last:
            last = when
            value = _micros(when)
        out.append(value)
    return out


class RecordingSink:
    """The writing half of the recorder: messages in (any thread), files out.

    Used by :class:`Recorder`; usable alone to record messages from any source (a replay,
    a test). See the module docstring for the strategy.

    Parameters
    ----------
    path : path
        Output directory: ``ami-log.txt`` (+ index) and the Parquet dataset.
    server : str
        ``host:port`` (or a name for the PBX) stored in every row and in the ``server=``
        partition.
    text, parquet : bool
        Which outputs to write.
    include, exclude : str or list of str, optional
        Event-name patterns (``fnmatch``, case-insensitive) to keep / to leave out (both
        outputs). Responses and gap records are always kept.
    transform : callable, optional
        A function applied to the frame of each Parquet flush before it is written (the
        text log stays the complete record of the wire), e.g. :func:`amikit.drop_noise`
        or :func:`amikit.collapse` (the analysis layer: the recorder takes it, never
        imports it). With ``transform=amikit.collapse`` each Parquet row is the first
        event of a run of repeats within one flush and carries the run's ``count``,
        ``first`` and ``last``; ``amikit.load`` returns them. A run that spans a flush is
        split into two rows: ``amikit.collapse`` on the loaded frame joins them.
    flush_events, flush_seconds : int, float
        Publish a Parquet part every this many messages or seconds, whichever first.
    compact_parts : int
        Compact the small parts into one every this many parts (and at ``stop()``);
        0 never compacts.
    rotate_bytes, rotate_seconds : int, float, optional
        Start a new text log when the current one reaches this size or age; the old one
        is renamed ``ami-log-<UTC stamp>.txt`` (with its index).
    on_error : callable, optional
        Called once, on the writer thread, with the exception that stopped the recording
        (or the Parquet side, see ``parquet_failure``). It is also logged (logger
        ``amikit.record``) and kept in :attr:`error`.
    parquet_failure : ``"stop"`` or ``"keep-text"``
        What a Parquet write error does: stop the whole recording (the default), or stop
        only the Parquet side and keep the text log going (:attr:`parquet_error`).
    max_backlog : int
        Messages held at most while the writer catches up (Rule 1).
    private : bool
        Create the recording's files 0600 and directories 0700 (less umask), as it holds
        caller numbers and names; False: the usual 0666 / 0777 less umask.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        server: str | None = None,
        text: bool = True,
        parquet: bool = True,
        include: str | Iterable[str] | None = None,
        exclude: str | Iterable[str] | None = None,
        transform: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
        flush_events: int = 50_000,
        flush_seconds: float = 0.5,
        rotate_bytes: int | None = None,
        rotate_seconds: float | None = None,
        compact_parts: int = 120,
        on_error: Callable[[BaseException], Any] | None = None,
        parquet_failure: str = "stop",
        max_backlog: int = DEFAULT_MAX_BACKLOG,
        private: bool = True,
    ) -> None:
        if parquet_failure not in _PARQUET_FAILURE:
            raise UsageError(f"parquet_failure must be one of {_PARQUET_FAILURE}")
        if max_backlog < 1:
            raise UsageError("max_backlog must be >= 1")
        if not text and not parquet:
            raise UsageError("nothing to record: text=False and parquet=False")
        if flush_events < 1 or flush_seconds <= 0:
            raise UsageError("flush_events must be >= 1 and flush_seconds > 0")
        self.path = Path(path)
        self.server = server
        self.text = text
        self.parquet = parquet
        self.include = _matcher(include)
        self.exclude = _matcher(exclude)
        if transform is not None and not callable(transform):
            raise UsageError("transform must be a callable taking and returning a frame")
        self.transform = transform
        self.flush_events = flush_events
        self.flush_seconds = flush_seconds
        self.compact_parts = compact_parts
        self._small_parts: list[Path] = []  # published since the last compaction
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        from ._schema import new_session_id

        #: This recording run, stamped on every Parquet row: calls never group across
        #: sessions, so appending to a folder never merges with what it held.
        self.session = new_session_id()
        #: Whether ``path`` already held a recording when this one started.
        self.appended = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._buffer: list[Message | _Gap] = []
        self._flush_waiters: list[threading.Event] = []
        self._buffer_has_gap = False  # a _Gap is in _buffer (then text takes the slow path)
        self._batch_has_gap = False
        self._pending: list[Message | _Gap] = []  # waiting for the next Parquet flush
        self._pending_since = time.monotonic()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._error: BaseException | None = None
        self.on_error = on_error
        self.parquet_failure = parquet_failure
        self.max_backlog = max_backlog
        self.private = private
        self._log_path: Path | None = None  # the live text log of this server
        #: The error that stopped the recording (Rule 5), or None.
        self.error: BaseException | None = None
        #: The error that stopped the Parquet side only (``parquet_failure="keep-text"``).
        self.parquet_error: BaseException | None = None
        self._log: Any = None
        self._log_opened = 0.0
        self._dataset: Any = None
        #: Counters: messages taken in, written to text, published to Parquet, parts.
        self.received = 0
        self.text_written = 0
        self.parquet_written = 0
        self.filtered = 0
        #: Messages turned away: over ``max_backlog``, or after a write error (Rule 1, 5).
        self.dropped = 0

    @property
    def text_log(self) -> Path | None:
        """The live text log (None before :meth:`start`, or with ``text=False``)."""
        return self._log_path

    # -- input (any thread) -----------------------------------------------------------------

    def put(self, msg: Message) -> None:
        """Take one received message (cheap: an append under a lock)."""
        with self._lock:
            self.received += 1
            if self.error is not None or self._stopping or len(self._buffer) >= self.max_backlog:
                self.dropped += 1  # counted, never silently kept in a buffer nobody writes
                return
            self._buffer.append(msg)
            full = len(self._buffer) == self.flush_events
        if full:
            self._wake.set()  # a count-triggered flush should not wait for the timer

    def put_gap(
        self,
        *,
        connection: int | None,
        gap_start: datetime | None,
        gap_end: datetime | None,
        reason: str | None,
        at: datetime | None = None,
    ) -> None:
        """Note a connection gap in its place in the sequence."""
        when = at or datetime.now(timezone.utc)
        with self._lock:
            self._buffer.append(_Gap(connection, when, gap_start, gap_end, reason))
            self._buffer_has_gap = True
        self._wake.set()

    def record_action(
        self, pairs: Iterable[tuple[str, Any]], *, connection: int | None = None
    ) -> None:
        """Record an outgoing action (Rule 3: Login/Challenge never, secrets masked)."""
        pairs = [(str(k), "" if v is None else str(v)) for k, v in pairs]
        name = next((v for k, v in pairs if k.lower() == "action"), "")
        if name.lower() in _AUTH_ACTIONS:
            return
        masked = [(k, mask_value(k, v)) for k, v in pairs]
        msg = Message(encode_message(masked))
        msg.received_at = datetime.now(timezone.utc)
        msg.connection = connection
        self.put(msg)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise UsageError("recorder already started")
        from ._files import make_private_dir

        make_private_dir(self.path, self.private)
        if self.parquet:
            from ._dataset import DatasetWriter, is_dataset, partition_dir

            self.appended = is_dataset(self.path)
            # Only earlier rows of this same server are worth a word: other servers' rows
            # are a fleet recorded into one folder (`amikit record A B`), never mixed anyway.
            if self.appended and partition_dir(self.path, self.server, None).parent.exists():
                _log.warning(
                    "%s already holds a recording of %s: appending as a new session %s "
                    "(its calls stay apart from the earlier ones)",
                    self.path,
                    self.server,
                    self.session,
                )

            self._dataset = DatasetWriter(self.path, private=self.private)
            if self.transform is not None:  # the text log holds more, by design
                self._dataset.mark("subset")
        if self.text:
            self._open_log()
        self._stopping = False
        self._pending_since = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="amikit-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write out everything taken so far and close the files."""
        thread = self._thread
        if thread is None:
            return
        with self._lock:  # every message taken before this line is written (see _run)
            self._stopping = True
        self._wake.set()
        thread.join()
        self._thread = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def flush(self, timeout: float = 10.0) -> None:
        """Block until everything taken so far is written (text and Parquet).

        Raises the write error that stopped the recording (Rule 5), if any.
        """
        if self.error is not None:
            raise self.error
        done = threading.Event()
        with self._lock:
            self._flush_waiters.append(done)
        self._wake.set()
        if not done.wait(timeout):
            if self.error is not None:
                raise self.error
            raise TimeoutError("recorder flush timed out")
        if self.error is not None:
            raise self.error

    def __enter__(self) -> RecordingSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- writer thread --------------------------------------------------------------------

    def _open_log(self) -> None:
        from ._textlog import TextLogWriter, log_for_server

        if self._log_path is None:
            self._log_path = log_for_server(self.path, self.server)
        self._log = TextLogWriter(
            self._log_path, server=self.server, session=self.session, private=self.private
        )
        self._log_opened = time.monotonic()

    def _rotate_if_due(self) -> None:
        log = self._log
        if log is None or log.size == 0:
            return
        too_big = self.rotate_bytes is not None and log.size >= self.rotate_bytes
        too_old = (
            self.rotate_seconds is not None
            and time.monotonic() - self._log_opened >= self.rotate_seconds
        )
        if not (too_big or too_old):
            return
        from ._textlog import index_path

        log.close()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        # Several servers recorded into one folder rotate on their own writer threads: the
        # choice of a free name and the renames happen under one lock, so two logs rotated
        # in the same microsecond never take (and silently replace) the same name.
        with _ROTATE_LOCK:
            target = rotated_log_name(self.path, stamp)
            log.path.rename(target)
            index_path(log.path).rename(index_path(target))
        self._open_log()

    def _run(self) -> None:
        last_text_flush = time.monotonic()
        while True:
            self._wake.wait(_WAKE)
            self._wake.clear()
            with self._lock:
                batch, self._buffer = self._buffer, []
                waiters, self._flush_waiters = self._flush_waiters, []
                self._batch_has_gap, self._buffer_has_gap = self._buffer_has_gap, False
                # read with the batch: a message taken before stop() is in this batch
                stopping = self._stopping
            text_before = self.text_written
            try:
                batch = self._filter(batch)
                if self._log is not None and batch:
                    self._write_text(batch)
                now = time.monotonic()
                if self._log is not None and (
                    now - last_text_flush >= _TEXT_FLUSH or waiters or stopping
                ):
                    self._log.flush()
                    self._log.check()  # Rule 5: a removed log is a write error too
                    last_text_flush = now
                    self._rotate_if_due()
                if self._dataset is not None:
                    self._pending.extend(batch)
                    due = (
                        len(self._pending) >= self.flush_events
                        or now - self._pending_since >= self.flush_seconds
                    )
                    if due or waiters or stopping:
                        if self._log is not None:
                            self._log.flush()  # the text log is never behind the dataset
                        try:
                            self._write_parquet()
                        except Exception as exc:
                            if self.parquet_failure != "keep-text" or self._log is None:
                                raise
                            self._stop_parquet(exc)
            except BaseException as exc:  # Rule 5: never stop silently
                if self._log is not None:  # the part of the batch no file holds
                    taken = sum(1 for m in batch if isinstance(m, Message))
                    self.dropped += taken - (self.text_written - text_before)
                self._fail(exc)
                for w in waiters:
                    w.set()
                return
            for w in waiters:
                w.set()
            if stopping:
                with self._lock:
                    done = not self._buffer
                if done:
                    try:
                        if self._dataset is not None and self.compact_parts:
                            self._compact()
                    except BaseException as exc:
                        self._fail(exc)
                    return

    def _fail(self, exc: BaseException) -> None:
        """Rule 5: stop taking messages, say why, drop the backlog (memory stays bounded)."""
        with self._lock:
            self.error = self._error = exc
            self.dropped += sum(1 for m in self._buffer if isinstance(m, Message))
            if self._log is None:
                self.dropped += sum(1 for m in self._pending if isinstance(m, Message))
            self._buffer = []
            self._pending = []
        log.error("recording to %s stopped: %s", self.path, exc)
        self._call_on_error(exc)

    def _call_on_error(self, exc: BaseException) -> None:
        if self.on_error is None:
            return
        try:
            self.on_error(exc)
        except Exception:  # a broken hook must not hide the error it was told about
            log.exception("on_error hook of the recorder to %s failed", self.path)

    def _filter(self, batch: list[Message | _Gap]) -> list[Message | _Gap]:
        if self.include is None and self.exclude is None:
            return batch
        out: list[Message | _Gap] = []
        for item in batch:
            if isinstance(item, Message) and item.is_event:
                name = item.name
                if self.include is not None and not _matches(name, self.include):
                    self.filtered += 1
                    continue
                if self.exclude is not None and _matches(name, self.exclude):
                    self.filtered += 1
                    continue
            out.append(item)
        return out

    def _write_text(self, batch: list[Message | _Gap]) -> None:
        if self.rotate_bytes is None and not self._batch_has_gap:
            # the common case: one bulk write of frames and index lines
            msgs: list[Message] = batch  # type: ignore[assignment]
            columns = (
                [m.raw for m in msgs],
                [m.seq for m in msgs],
                [m.connection for m in msgs],
                _micros_list(msgs),
            )
            _despite_interrupts(lambda: self._log.write_columns(*columns))
            self.text_written += len(msgs)
            return
        frames: list[tuple[bytes, int | None, int | None, datetime | None]] = []
        pending = 0  # bytes in `frames`

        def write_out() -> None:
            self._log.write_many(frames)
            self.text_written += len(frames)
            frames.clear()

        for item in batch:
            if isinstance(item, _Gap):
                write_out()
                pending = 0
                self._log.gap(
                    connection=item.connection,
                    received_at=item.received_at,
                    gap_start=item.gap_start,
                    gap_end=item.gap_end,
                    reason=item.reason,
                )
                continue
            frames.append((item.raw, item.seq, item.connection, item.received_at))
            pending += len(item.raw)
            if self.rotate_bytes is not None and self._log.size + pending >= self.rotate_bytes:
                write_out()
                pending = 0
                self._log.flush()
                self._rotate_if_due()
        write_out()

    def _stop_parquet(self, exc: BaseException) -> None:
        """``parquet_failure="keep-text"``: Parquet stops here, the text log goes on."""
        self.parquet_error = exc
        self._dataset = None
        log.error("Parquet recording to %s stopped (text log continues): %s", self.path, exc)
        self._call_on_error(exc)

    def _write_parquet(self) -> None:
        pending, self._pending = self._pending, []
        self._pending_since = time.monotonic()
        if not pending:
            return
        try:
            # A part interrupted mid-write stays a hidden temporary file that loaders skip;
            # the retry writes a complete one.
            self._small_parts += _despite_interrupts(
                lambda: self._dataset.write(self.rows(pending))
            )
        except BaseException:
            self._lost_to_parquet(pending)
            raise
        self.parquet_written += sum(1 for p in pending if isinstance(p, Message))
        if self.compact_parts and len(self._small_parts) >= self.compact_parts:
            self._compact()

    def _compact(self) -> None:
        parts, self._small_parts = self._small_parts, []
        if len(parts) > 1:
            try:
                self._dataset.compact(parts)
            except KeyboardInterrupt:
                # A Ctrl-C for the program, raised by polars while it read or wrote (see
                # _despite_interrupts); compacting can wait, so it is not tried again. The
                # partition being compacted was not replaced yet: its small parts are
                # complete and stay; the next compaction (if any) takes again those still
                # there (an earlier partition's may be compacted already).
                self._small_parts = [p for p in parts if p.exists()] + self._small_parts
                _thread.interrupt_main()

    def _lost_to_parquet(self, pending: list[Message | _Gap]) -> None:
        if self._log is None:  # else they are in the text log: recorded, not dropped
            self.dropped += sum(1 for p in pending if isinstance(p, Message))

    def rows(self, items: list[Message | _Gap]) -> pl.DataFrame:
        """Rows (full schema) for messages and gaps, in order."""
        import polars as pl

        from ._schema import gap_row, polars_schema, rows_to_frame
        from ._vector import rows_from_messages

        schema = polars_schema()
        msgs = [m for m in items if isinstance(m, Message)]
        rows = rows_from_messages(msgs)
        utc = pl.Datetime("us", "UTC")
        rows = rows.with_columns(
            pl.Series("received_at", _micros_list(msgs), dtype=pl.Int64).cast(utc),
            pl.lit(self.server, dtype=pl.String).alias("server"),
            pl.lit(self.session, dtype=pl.String).alias("session"),
            pl.Series("connection", [m.connection for m in msgs], dtype=pl.Int32),
            pl.Series("seq", [m.seq for m in msgs], dtype=pl.Int64),
        ).select(list(schema))
        if len(msgs) != len(items):
            positions = [i for i, m in enumerate(items) if isinstance(m, Message)]
            gaps = [(i, g) for i, g in enumerate(items) if isinstance(g, _Gap)]
            gap_rows = rows_to_frame(
                gap_row(
                    received_at=g.received_at,
                    server=self.server,
                    connection=g.connection,
                    gap_start=g.gap_start,
                    gap_end=g.gap_end,
                    reason=g.reason,
                )
                for _, g in gaps
            ).with_columns(pl.lit(self.session, dtype=pl.String).alias("session"))
            rows = (
                pl.concat(
                    [
                        rows.with_columns(pl.Series("_i", positions, dtype=pl.Int64)),
                        gap_rows.with_columns(
                            pl.Series("_i", [i for i, _ in gaps], dtype=pl.Int64)
                        ),
                    ]
                )
                .sort("_i")
                .drop("_i")
            )
        return rows if self.transform is None else self.transform(rows)


class Recorder:
    """Record everything an :class:`amikit.AMIClient` receives.

    Parameters
    ----------
    client : AMIClient
        A client (connected or not). The recorder subscribes with ``thread="loop"`` and
        ``lossless=True``: it never drops an event.
    path : path
        Output directory: ``ami-log.txt`` (+ ``.index.jsonl``) and the Parquet dataset
        (``server=…/date=…/part-….parquet``). ``amikit.load(path)`` reads it back.
    text, parquet, include, exclude, transform, flush_events, flush_seconds,
    rotate_bytes, rotate_seconds
        See :class:`RecordingSink`.

    Examples
    --------
    >>> with amikit.Recorder(client, "recordings/today"):  # doctest: +SKIP
    ...     client.action("Originate", ...)
    >>> df = amikit.load("recordings/today")              # doctest: +SKIP
    """

    def __init__(self, client: Any, path: str | Path, **options: Any) -> None:
        self.client = client
        # a name the user gives the PBX, else the client's host:port
        server = options.pop("server", None) or getattr(client, "server", None)
        self.sink = RecordingSink(path, server=server, **options)
        self._subscription: Any = None
        self._connection_sub: Any = None
        self._open_gap: Any = None
        self._connection: int | None = None  # generation of the last message
        self._gaps_written: set[int | None] = set()

    @property
    def path(self) -> Path:
        return self.sink.path

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`, unless a write error stopped the
        recording (then :attr:`error` says why)."""
        return self._subscription is not None and self.sink.error is None

    @property
    def error(self) -> BaseException | None:
        """The write error that stopped the recording, or None (see ``on_error``)."""
        return self.sink.error

    def start(self) -> Recorder:
        """Start writing; returns self."""
        if self._subscription is not None:
            raise UsageError("recorder already started")
        self.sink.start()
        try:
            self._subscription = self.client.on("*", self._on_message, thread="loop", lossless=True)
            self._connection_sub = self.client.on_connection(self._on_connection)
        except BaseException:
            self.sink.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop listening, write out everything received, close the files."""
        for sub in (self._subscription, self._connection_sub):
            cancel = getattr(sub, "cancel", None)
            if cancel is not None:
                cancel()
        self._subscription = self._connection_sub = None
        gap, self._open_gap = self._open_gap, None
        if gap is not None:  # stopped while disconnected: the gap has no end
            self.sink.put_gap(
                connection=gap.generation,
                gap_start=gap.gap_start or gap.at,
                gap_end=None,
                reason=gap.reason,
                at=gap.at,
            )
        self.sink.stop()

    def flush(self, timeout: float = 10.0) -> None:
        """Block until everything received so far is on disk."""
        self.sink.flush(timeout)

    def record_action(self, pairs: Iterable[tuple[str, Any]]) -> None:
        """Record an outgoing action (Login/Challenge never; Secret/Key masked)."""
        self.sink.record_action(pairs, connection=getattr(self.client, "generation", None))

    def _on_message(self, msg: Message) -> None:
        # Loop thread. A message of a new connection before the "reconnected" notice
        # (FullyBooted comes right after the new login) puts the gap in its place first.
        if msg.connection != self._connection and self._connection is not None:
            self._put_gap(msg.connection, gap_end=msg.received_at)
        self._connection = msg.connection
        self.sink.put(msg)

    def _put_gap(self, generation: int | None, *, gap_end: Any, event: Any = None) -> None:
        if generation in self._gaps_written:
            return
        self._gaps_written.add(generation)
        lost = self._open_gap
        self._open_gap = None
        start = getattr(event, "gap_start", None) or getattr(lost, "gap_start", None)
        reason = getattr(event, "reason", None) or getattr(lost, "reason", None)
        self.sink.put_gap(
            connection=generation,
            gap_start=start,
            gap_end=gap_end,
            reason=reason,
            at=getattr(event, "at", None) or gap_end,
        )

    def _on_connection(self, event: Any) -> None:
        # Loop thread. One gap row per gap, written when it is over: at the reconnect notice
        # or at the first message of the new connection, whichever comes first.
        kind = getattr(event, "kind", None)
        if kind == "disconnected":
            self._open_gap = event
        elif kind == "reconnected":
            self._put_gap(event.generation, gap_end=event.gap_end, event=event)

    @property
    def stats(self) -> dict[str, int]:
        s = self.sink
        return {
            "received": s.received,
            "text_written": s.text_written,
            "parquet_written": s.parquet_written,
            "filtered": s.filtered,
            "dropped": s.dropped,
        }

    def __enter__(self) -> Recorder:
        # already started by start() (``with Recorder(...).start() as rec``)
        return self if self._subscription is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
