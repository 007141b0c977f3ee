"""The AMI client: one class, synchronous in scripts and awaitable on any event loop.

Every client of a process runs on one private asyncio loop in one daemon thread
(``amikit-loop``), so a sync call works in a script and in a Jupyter cell, and an ``a...``
call works from any other loop, with no monkey-patching (see ``_portal``). Events keep
flowing between notebook cells and while a cell blocks.

>>> from amikit import AMIClient                                    # doctest: +SKIP
>>> with AMIClient("127.0.0.1", 5038, "admin", "amikit") as ami:     # doctest: +SKIP
...     print(ami.command("core show version"))
"""

from __future__ import annotations

from ._client import AMIClient, ConnectionHandle
from ._hints import AmiHint, MissingParameterError
from ._subscribe import AsyncEventStream, EventStream, Pattern, Subscription
from ._values import ActionResponse, ClientStats, ConnectionEvent

__all__ = [
    "AMIClient",
    "ActionResponse",
    "AmiHint",
    "AsyncEventStream",
    "ClientStats",
    "ConnectionEvent",
    "ConnectionHandle",
    "EventStream",
    "MissingParameterError",
    "Pattern",
    "Subscription",
]

for _cls in (
    AMIClient,
    ConnectionHandle,
    AmiHint,
    MissingParameterError,
    ClientStats,
    ConnectionEvent,
    AsyncEventStream,
    EventStream,
    Subscription,
):
    _cls.__module__ = "amikit.client"
AMIClient.__module__ = "amikit"
del _cls
