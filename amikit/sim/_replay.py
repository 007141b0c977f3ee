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
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from ..protocol import Message
from ._extract import load_events
from ._server import AMIServer, ServerSession, User

__all__ = ["Replay", "replay"]


def _classes(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    return frozenset(
        p.strip().lower() for p in text.split(",") if p.strip() and p.strip().lower() != "all"
    )


class Replay:
    """Serve a recorded capture on 127.0.0.1 (see the module docstring).

    Parameters
    ----------
    path : str or Path
        A raw AMI capture (bytes as received, optionally with amikit's ``# `` header).
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
        timed = load_events(self.path)
        first = timed[0][0] if timed else 0.0
        self.events: list[tuple[float, Message, frozenset[str]]] = [
            (t - first, msg, _classes(msg.get("Privilege"))) for t, msg in timed
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

    >>> with replay("tests/data/asterisk22/mixed60.raw", speed=10) as r:   # doctest: +SKIP
    ...     print(r.host, r.port)
    """
    return Replay(path, speed, **kwargs)
