"""Replay a recorded AMI capture to any client, in real time or faster.

Strategy
--------
A :class:`Replay` is an :class:`~amikit.sim.AMIServer` whose ``Login`` also starts a playback
for that session: every event of the capture, byte for byte, at its recorded offset from the
first event divided by ``speed``. Each client gets the whole recording from its own login, so
two tools can be compared on the same input. Times come from the events' ``Timestamp:``
headers (``timestampevents = yes``) or, when the capture has none, from the arrival times in
its ``<name>.timing.jsonl`` file; a capture with neither is sent as fast as the client reads.
Events still pass the server's per-session rules (read classes, event mask, filters).

Only the events are replayed: the recorded session's own responses (its login, its actions)
belong to that session, not to a new client.

Sources (:func:`recording_events` decides which):

* a raw AMI capture (optional ``# `` header, optional ``.timing.jsonl``): frames byte for
  byte, times from ``Timestamp:`` else the timing file;
* an amikit text log (``ami-log.txt`` with its ``.index.jsonl`` sidecar, or a folder of
  them): frames byte for byte, times from the index's arrival times (``received_at``), else
  ``Timestamp:``;
* a Parquet recording (a dataset folder or one ``.parquet`` file): each row rebuilt as a
  frame with :func:`amikit.record.message_pairs` (header order: ``Event`` first, then the
  wide columns, then the rest), times from ``received_at`` else ``timestamp``.

A folder that ``amikit record`` wrote holds both a text log and a dataset; the text log
wins (it is the complete, byte-exact record; the dataset may have had noise dropped).
:mod:`amikit.record` (and polars, for Parquet) is imported only when a recording is
replayed, so ``import amikit.sim`` stays light.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from .._privilege import privilege_classes
from .._timestamp import server_seconds
from ..protocol import Message, Parser
from ._extract import load_events
from ._server import AMIServer, ServerSession, User

__all__ = ["Replay", "recording_events", "replay"]


_TEXT_LOGS = "ami-log*.txt"


def _text_logs(folder: Path) -> list[Path]:
    logs = sorted(folder.glob(_TEXT_LOGS))
    # the live log last: rotated ones (ami-log-<stamp>.txt) come before it
    return sorted(logs, key=lambda p: (p.name == "ami-log.txt", p.name))


def _text_log_events(log: Path) -> list[tuple[float | None, float | None, Message]]:
    """``(arrival, server_time, event)`` for each event frame of an amikit text log."""
    from ..record import index_path, read_index

    arrival_by_end: dict[int, float] = {}
    index = index_path(log)
    if index.exists():
        _, records, _ = read_index(index)
        frames = records.filter(records["gap"].is_null() | ~records["gap"])
        for offset, length, us in zip(
            frames["offset"], frames["len"], frames["received_at"], strict=True
        ):
            if offset is not None and length is not None and us is not None:
                arrival_by_end[offset + length] = us / 1e6
    parser = Parser()
    data = log.read_bytes()
    messages = parser.feed(data)
    offset = len(parser.banner.encode()) + 2 if parser.banner else 0
    out: list[tuple[float | None, float | None, Message]] = []
    for msg in messages:
        offset += len(msg.raw)
        if msg.is_event:
            out.append((arrival_by_end.get(offset), server_seconds(msg.get("Timestamp")), msg))
    return out


def _parquet_events(path: Path) -> list[tuple[float | None, float | None, Message]]:
    """``(arrival, server_time, event)`` for each event row of a Parquet recording."""
    import polars as pl

    from ..record import load, message_pairs

    df = load(path).filter(pl.col("kind") == "event")
    epoch = pl.Datetime("us", "UTC")
    times = df.select(
        (pl.col("received_at").cast(epoch).cast(pl.Int64) / 1e6).alias("_a"),
        (pl.col("timestamp").cast(epoch).cast(pl.Int64) / 1e6).alias("_s"),
    )
    return [
        (arrival, server, Message.from_pairs(list(message_pairs(row))))
        for arrival, server, row in zip(
            times["_a"], times["_s"], df.iter_rows(named=True), strict=True
        )
    ]


def _one_clock(
    events: list[tuple[float | None, float | None, Message]],
) -> list[tuple[float, Message]]:
    """Arrival times when the recording has them, else server times, else none (all 0).

    An event without the chosen time takes its predecessor's (the first known one for the
    leading events), so the order is never changed.
    """
    for pick in (0, 1):
        if any(e[pick] is not None for e in events):
            known = next(e[pick] for e in events if e[pick] is not None)
            out: list[tuple[float, Message]] = []
            for e in events:
                known = e[pick] if e[pick] is not None else known
                out.append((known, e[2]))  # type: ignore[arg-type]
            return out
    return [(0.0, e[2]) for e in events]


def recording_events(path: str | Path) -> list[tuple[float, Message]]:
    """The events of any replayable recording with their times (see the module docstring).

    Parameters
    ----------
    path : str or Path
        A raw capture, an amikit text log (or a folder of them), a Parquet dataset folder
        or a ``.parquet`` file.

    Returns
    -------
    list of (float, Message)
        Seconds (any origin) and the event, in recorded order.
    """
    path = Path(path)
    if path.is_dir():
        logs = _text_logs(path)
        if logs:
            return _one_clock([e for log in logs for e in _text_log_events(log)])
        return _one_clock(_parquet_events(path))  # raises RecordingFormatError if not one
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        return _one_clock(_parquet_events(path))
    if path.with_name(path.name + ".index.jsonl").exists():
        return _one_clock(_text_log_events(path))
    return load_events(path)


class Replay:
    """Serve a recorded capture on 127.0.0.1 (see the module docstring).

    Parameters
    ----------
    path : str or Path
        A raw AMI capture (bytes as received, optionally with amikit's ``# `` header), an
        amikit text log (with its ``.index.jsonl``), a folder ``amikit record`` wrote, or
        a Parquet recording (dataset folder or ``.parquet`` file).
    speed : float
        2.0 plays twice as fast; ``float("inf")`` sends everything at once.
    users : list of User, optional
        Default ``[User("admin", "amikit")]``.
    host, port : str, int
        Loopback only; port 0 lets the OS choose.
    """

    def __init__(
        self,
        path: str | Path,
        speed: float = 1.0,
        *,
        users: list[User] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.path = Path(path)
        self.speed = speed
        timed = recording_events(self.path)
        first = timed[0][0] if timed else 0.0
        self.events: list[tuple[float, Message, frozenset[str]]] = [
            (t - first, msg, privilege_classes(msg.get("Privilege"))) for t, msg in timed
        ]
        self.duration = self.events[-1][0] if self.events else 0.0
        self.server = AMIServer(users, host=host, port=port)
        self.server.on_login(lambda session: session.spawn(self._play(session)))
        self.playbacks_finished = 0
        self._finished = threading.Condition()

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> Replay:
        """Listen; playback starts for each session at its login."""
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Replay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Replay {self.path.name} x{self.speed} events={len(self.events)}>"

    def wait_finished(self, count: int = 1, timeout: float | None = None) -> bool:
        """Block until ``count`` playbacks have sent their last event."""
        with self._finished:
            return self._finished.wait_for(lambda: self.playbacks_finished >= count, timeout)

    async def _play(self, session: ServerSession) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0)  # let the login response go first
        start = loop.time()
        speed = self.speed
        for offset, msg, privilege in self.events:
            if session.closing:
                return
            due = start + offset / speed if speed != float("inf") else start
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if session.wants(msg, privilege, None):
                session.send(msg.raw)
        with self._finished:
            self.playbacks_finished += 1
            self._finished.notify_all()


def replay(path: str | Path, speed: float = 1.0, **kwargs: Any) -> Replay:
    """A :class:`Replay` of ``path`` (use it as a context manager, or ``start()``/``stop()``).

    >>> with replay("tests/data/asterisk22/mixed60.raw", speed=10) as r:
    ...     print(r.host)
    127.0.0.1
    """
    return Replay(path, speed, **kwargs)
