"""Fixtures for the client tests: a real AMIServer on 127.0.0.1, port chosen by the OS."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from amikit import AMIClient
from amikit.client._portal import get_portal
from amikit.sim import AMIServer, User

USERS = [
    User("admin", "amikit"),
    User("reader", "r3ad-only-pw", read="all", write=""),
]


@pytest.fixture
def server() -> Iterator[AMIServer]:
    with AMIServer(USERS) as srv:
        yield srv


@pytest.fixture
def client(server: AMIServer) -> Iterator[AMIClient]:
    c = AMIClient("127.0.0.1", server.port, "admin", "amikit", timeout=5.0)
    c.connect()
    yield c
    c.close()


def user_event(name: str = "Tick", **fields: str) -> list[tuple[str, str]]:
    """A UserEvent frame as the server would broadcast it."""
    return [("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", name), *fields.items()]


class Recorder:
    """Collects messages or connection events and lets a test wait for a condition."""

    def __init__(self) -> None:
        self.items: list = []
        self._cond = threading.Condition()

    def __call__(self, item: object) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def wait_for(self, predicate, timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.items), timeout)

    def wait_count(self, n: int, timeout: float = 5.0) -> bool:
        return self.wait_for(lambda items: len(items) >= n, timeout)


def portal_tasks() -> list[asyncio.Task]:
    """Tasks still alive on the shared amikit loop."""

    async def _tasks() -> list[asyncio.Task]:
        me = asyncio.current_task()
        return [t for t in asyncio.all_tasks() if t is not me]

    return get_portal().call(_tasks(), 5.0)


def wait_until(predicate, timeout: float = 5.0) -> bool:
    """Poll a condition that has no event to wait on (e.g. loop-thread state); bounded."""
    import time

    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        tick.wait(0.005)
    return True
