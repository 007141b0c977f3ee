"""The values the client hands out: connection events, statistics, action responses, and
the settings the engine (re)connects with (:class:`Config`, whose repr leaves out the secret).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..protocol import Message

__all__ = ["ActionResponse", "ClientStats", "Config", "ConnectionEvent"]

ConnectionKind = Literal["connected", "disconnected", "reconnected", "closed"]


@dataclass(frozen=True)
class ConnectionEvent:
    """A change of connection state, for ``client.on_connection(callback)``.

    Attributes
    ----------
    kind : {"connected", "disconnected", "reconnected", "closed"}
    generation : int
        The connection generation (1 for the first connection, +1 per reconnect).
    at : datetime
        When it happened (UTC).
    gap_start, gap_end : datetime or None
        For ``disconnected``: ``gap_start`` (the moment the loss was noticed). For
        ``reconnected``: both, the interval in which events may have been missed.
    reason : str or None
        Why (``"connection closed by the server"``, ``"no reply to Ping within 25 s"``, ...).
    """

    kind: ConnectionKind
    generation: int
    at: datetime
    gap_start: datetime | None = None
    gap_end: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ClientStats:
    """A snapshot of a client's counters (``client.stats``).

    Attributes
    ----------
    received : int
        Messages received (events and responses) over every connection.
    delivered : int
        Messages handed to subscribers (callbacks and streams).
    dropped : int
        Messages dropped by full lossy subscription queues.
    lag : float
        Largest delivery lag of the subscriptions, seconds (receipt to delivery).
    reconnects : int
        Successful reconnections.
    queued : int
        Messages waiting in subscription queues now.
    bytes_received : int
    protocol_errors : int
        Bad frames skipped by the parser.
    unmatched : int
        Responses whose ActionID matched no pending action (e.g. after a timeout).
    callback_errors : int
        Exceptions raised by subscriber callbacks (logged, never fatal).
    generation : int
    connected : bool
    """

    received: int
    delivered: int
    dropped: int
    lag: float
    reconnects: int
    queued: int
    bytes_received: int
    protocol_errors: int
    unmatched: int
    callback_errors: int
    generation: int
    connected: bool


class ActionResponse(Message):
    """The response to an action: a :class:`~amikit.Message` plus the event list, if any.

    Attributes
    ----------
    events : list of Message
        For event-list actions (``CoreShowChannels``, ``QueueStatus``, ...): the items, in
        order, without the terminator. Empty for other actions.
    list_end : Message or None
        The list's terminating event (``...Complete``, with ``ListItems``), if any.
    """

    __slots__ = ("events", "list_end")
    events: list[Message]
    list_end: Message | None

    @classmethod
    def _wrap(cls, msg: Message) -> ActionResponse:
        resp = cls(msg.raw, msg._kind)
        resp.received_at = msg.received_at
        resp.seq = msg.seq
        resp.connection = msg.connection
        resp.events = []
        resp.list_end = None
        return resp


ActionResponse.__module__ = "amikit.client"


@dataclass
class Config:
    """What the engine needs to (re)connect. The secret is kept out of ``repr``."""

    host: str
    port: int
    username: str | None
    secret: str | None
    tls: ssl.SSLContext | None
    auth: Literal["md5", "plain"]
    ping_interval: float
    ping_timeout: float
    reconnect: bool
    backoff: tuple[float, float]
    events: str
    timeout: float

    def __repr__(self) -> str:
        return f"<Config {self.username}@{self.host}:{self.port}>"
