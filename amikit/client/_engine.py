"""The asyncio engine behind :class:`~amikit.AMIClient`: one connection at a time, kept alive.

Strategy
--------
Everything here runs on the portal loop (:mod:`amikit.client._portal`) and never knows which
face (sync or async) called it.

* A connection (:class:`._connection._Connection`, one per generation) reads and correlates;
  the engine logs in, keeps it alive, replaces it when it is lost and dispatches its events.
* Liveness: a pinger task sends ``Ping`` every ``ping_interval`` and expects the reply within
  ``ping_timeout``. A half-open connection (no bytes and no FIN) fails that deadline, which
  counts as a loss like EOF or a reset.
* On loss: pending actions fail with :class:`~amikit.ConnectionLost`, a ``disconnected``
  :class:`ConnectionEvent` is emitted, and (``reconnect=True``) a supervisor task retries with
  exponential back-off and jitter (bounded by ``backoff[1]``), logs in again with the same
  event mask, re-applies every filter, and emits ``reconnected`` carrying the gap
  ``(gap_start, gap_end)``. Subscriptions belong to the engine, so they survive.
  A refused login ends the retries (no retry storm): the client is then ``closed``.
* Secrets: the secret lives in one attribute, is sent inside an
  :class:`~amikit.protocol.EncodedAction` (whose repr masks it) and is never logged or put
  into an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import ssl
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from .._exceptions import (
    AmiError,
    AmiTimeout,
    AuthenticationError,
    ConnectError,
    ConnectionLost,
    UsageError,
)
from ..protocol import Message, login_key
from ._connection import _Connection
from ._subscribe import Subscription
from ._values import ActionResponse, ClientStats, Config, ConnectionEvent

__all__ = ["ClientEngine"]

log = logging.getLogger("amikit.client")
log.addHandler(logging.NullHandler())  # a library logs only where the application says so
_UTC = timezone.utc


def _event_name(msg: Message) -> bytes:
    """The event name as raw bytes, read straight from the frame (hot path)."""
    raw = msg.raw
    if raw.startswith(b"Event: "):
        end = raw.find(b"\n", 7)
        if end > 0:
            return raw[7 : end - 1] if raw[end - 1] == 13 else raw[7:end]
    return msg.name.encode()


class ClientEngine:
    """Connection, login, liveness, reconnection and dispatch of one client (loop thread)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.server = f"{config.host}:{config.port}"
        self.generation = 0
        self.conn: _Connection | None = None
        self.subscriptions: tuple[Subscription, ...] = ()
        self.listeners: tuple[Callable[[ConnectionEvent], Any], ...] = ()
        self.filters: list[list[tuple[str, Any]]] = []
        self.event_mask = config.events
        self.closing = False
        self.closed = False
        self.failure: BaseException | None = None  # why the client stopped reconnecting
        self.supervisor: asyncio.Task[None] | None = None
        self._blocked: set[int] = set()
        self._ids = itertools.count(1)
        self._id_prefix = f"amikit-{os.getpid():x}-{random.getrandbits(24):06x}"
        self.received = 0
        self.bytes_received = 0
        self.protocol_errors = 0
        self.unmatched = 0
        self.reconnects = 0
        self.gone_delivered = 0  # counters of cancelled subscriptions, kept for stats
        self.gone_dropped = 0
        self.gone_errors = 0

    def next_action_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids)}"

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.dead

    # -- opening and login ----------------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> None:
        """First connection: errors are raised to the caller (no retry).

        ``timeout`` (default: the client's) bounds the whole of it: TCP (and TLS), the
        banner, the login and the filters, so a server that accepts but never speaks fails
        with :class:`~amikit.AmiTimeout` after ``timeout`` seconds, not later.
        """
        if self.closed or self.closing:
            raise UsageError("this client is closed; create a new AMIClient")
        if self.connected:
            return
        conn = await self._open(self.config.timeout if timeout is None else timeout)
        self._install(conn)
        self._emit(ConnectionEvent("connected", self.generation, datetime.now(_UTC)))

    async def _open(self, timeout: float) -> _Connection:
        """Open, read the banner, log in and re-apply the filters within ``timeout`` seconds."""
        cfg = self.config
        if cfg.username is None or cfg.secret is None:
            raise UsageError("username and secret are required to log in")
        conn = _Connection(self, self.generation + 1)
        step = ["connect"]  # what was under way when the deadline passed
        try:
            await asyncio.wait_for(self._handshake(conn, step), timeout)
        except BaseException as exc:
            conn.dead = True  # not installed: its loss must not trigger a reconnect
            if conn.transport is not None:
                conn.transport.abort()
            if isinstance(exc, asyncio.TimeoutError):
                raise AmiTimeout(
                    f"{self.server}: no {step[0]} within {timeout:g} s (connect deadline)"
                ) from None
            raise
        return conn

    async def _handshake(self, conn: _Connection, step: list[str]) -> None:
        cfg = self.config
        try:
            await asyncio.get_running_loop().create_connection(
                lambda: conn,
                cfg.host,
                cfg.port,
                ssl=cfg.tls,
                server_hostname=cfg.host if cfg.tls is not None else None,
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConnectError(f"cannot connect to {self.server}: {exc}") from exc
        step[0] = "AMI banner"
        await asyncio.shield(conn.banner)
        step[0] = "reply to the login"
        await self._login(conn)
        step[0] = "reply to the event filters"
        for pairs in self.filters:
            await conn.request("Filter", pairs, cfg.timeout)

    async def _login(self, conn: _Connection) -> None:
        cfg = self.config
        assert cfg.username is not None and cfg.secret is not None
        fields: list[tuple[str, Any]]
        try:
            if cfg.auth == "md5":
                challenge = await conn.request(
                    "Challenge", [("AuthType", "MD5")], cfg.timeout, raise_on_error=False
                )
                value = challenge.get("Challenge")
                if value is None:
                    raise AuthenticationError(
                        challenge.get("Message") or "the server sent no MD5 challenge",
                        username=cfg.username,
                    )
                key = login_key(value, cfg.secret)
                fields = [("AuthType", "MD5"), ("Username", cfg.username), ("Key", key)]
            else:
                fields = [("Username", cfg.username), ("Secret", cfg.secret)]
            fields.append(("Events", self.event_mask))
            response = await conn.request("Login", fields, cfg.timeout, raise_on_error=False)
        except ConnectionLost as exc:
            raise ConnectError(f"{self.server} closed the connection during login") from exc
        if (response.get("Response") or "").lower() != "success":
            raise AuthenticationError(
                response.get("Message") or "Authentication failed", username=cfg.username
            )

    def _install(self, conn: _Connection) -> None:
        self.conn = conn
        self.generation = conn.generation
        if self._blocked:
            conn.pause(True)
        if self.config.ping_interval > 0:
            conn.pinger = asyncio.get_running_loop().create_task(self._ping_loop(conn))

    async def _ping_loop(self, conn: _Connection) -> None:
        cfg = self.config
        while not conn.dead:
            await asyncio.sleep(cfg.ping_interval)
            try:
                await conn.request("Ping", (), cfg.ping_timeout, raise_on_error=False)
            except AmiTimeout:
                conn.fail(f"no reply to Ping within {cfg.ping_timeout:g} s")
                return
            except AmiError:
                return

    # -- loss and reconnection ------------------------------------------------------------

    def connection_lost(self, conn: _Connection, reason: str) -> None:
        if conn is not self.conn:
            return  # a connection still logging in, or an old one
        self.conn = None
        if self.closing:
            return
        gap_start = datetime.now(_UTC)
        log.warning("%s: %s", self.server, reason)
        self._emit(
            ConnectionEvent("disconnected", conn.generation, gap_start, gap_start, None, reason)
        )
        if self.config.reconnect:
            loop = asyncio.get_running_loop()
            self.supervisor = loop.create_task(self._reconnect(gap_start, reason))

    async def _reconnect(self, gap_start: datetime, reason: str) -> None:
        initial, ceiling = self.config.backoff
        attempt = 0
        while not self.closing:
            delay = min(ceiling, initial * 2 ** min(attempt, 30))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # jitter: no thundering herd
            try:
                conn = await self._open(self.config.timeout)
            except AuthenticationError as exc:
                # The credentials are wrong now: retrying would only hammer the server.
                self.failure = exc
                log.error("%s: %s; giving up reconnecting", self.server, exc)
                self.closed = True
                self._close_subscriptions()
                self._emit(
                    ConnectionEvent(
                        "closed", self.generation, datetime.now(_UTC), gap_start, None, str(exc)
                    )
                )
                return
            except (AmiError, OSError) as exc:
                attempt += 1
                log.info("%s: reconnect attempt %d failed: %s", self.server, attempt, exc)
                continue
            if self.closing:
                conn.dead = True
                if conn.transport is not None:
                    conn.transport.abort()
                return
            self._install(conn)
            self.reconnects += 1
            now = datetime.now(_UTC)
            log.info("%s: reconnected (generation %d)", self.server, self.generation)
            self._emit(ConnectionEvent("reconnected", self.generation, now, gap_start, now, reason))
            return

    # -- actions --------------------------------------------------------------------------

    async def action(
        self,
        name: str,
        fields: Sequence[tuple[str, Any]],
        timeout: float | None,
        raise_on_error: bool,
    ) -> ActionResponse:
        if self.closed or self.closing:
            if self.failure is not None:
                raise UsageError(f"this client stopped: {self.failure}")
            raise UsageError("this client is closed")
        conn = self.conn
        if conn is None or conn.dead:
            if self.generation == 0:
                raise UsageError("not connected: call connect() (or aconnect()) first")
            raise ConnectionLost(f"{name}: not connected to {self.server} (reconnecting)")
        return await conn.request(
            name, fields, self.config.timeout if timeout is None else timeout, raise_on_error
        )

    async def set_event_mask(self, mask: str, timeout: float | None) -> ActionResponse:
        """``Action: Events``; the mask is kept and sent again at every login."""
        response = await self.action("Events", [("EventMask", mask)], timeout, True)
        self.event_mask = mask
        return response

    async def add_filter(
        self, pairs: list[tuple[str, Any]], timeout: float | None
    ) -> ActionResponse:
        """``Action: Filter``; the filter is kept and re-applied after every reconnection."""
        response = await self.action("Filter", pairs, timeout, True)
        self.filters.append(pairs)
        return response

    # -- subscriptions --------------------------------------------------------------------

    def add_subscription(self, sub: Subscription) -> None:
        if self.closed:
            raise UsageError("this client is closed")
        self.subscriptions = (*self.subscriptions, sub)  # copy-on-write: any thread

    def remove_subscription(self, sub: Subscription) -> None:
        if sub in self.subscriptions:
            self.subscriptions = tuple(s for s in self.subscriptions if s is not sub)
            self.gone_delivered += sub.delivered
            self.gone_dropped += sub.dropped
            self.gone_errors += sub.errors

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until the loop thread has finished the dispatch it may be in (any thread).

        Called after removing a subscription or a listener from another thread: a message
        already being handed out still reaches it, and nothing reaches it afterwards. (The
        recorder relies on this so that an event counted by another subscriber is on disk.)
        """
        from ._portal import get_portal

        portal = get_portal()
        if portal.in_loop_thread() or not portal.loop.is_running():
            return  # on the loop itself no dispatch is half done; a stopped loop has none
        done = threading.Event()
        try:
            portal.loop.call_soon_threadsafe(done.set)
        except RuntimeError:  # closed between the check and the call (interpreter exit)
            return
        done.wait(timeout)

    def dispatch(self, events: list[Message]) -> None:
        """Hand a chunk's events to every matching subscription (loop thread)."""
        names: list[bytes] | None = None
        for sub in self.subscriptions:
            matcher = sub.matcher
            if matcher.match_all:
                batch = events
            elif matcher.predicate is not None:
                batch = []
                for msg in events:
                    try:
                        if matcher.predicate(msg):
                            batch.append(msg)
                    except Exception:
                        sub._callback_failed()
            else:
                if names is None:
                    names = [_event_name(msg) for msg in events]
                wants = matcher.wants_bname
                batch = [msg for msg, name in zip(events, names, strict=True) if wants(name)]
            if batch:
                sub.push(batch)

    def pause_reading(self, sub: Subscription) -> None:
        """A lossless subscription is full: stop reading until it drains (loop thread)."""
        self._blocked.add(id(sub))
        if self.conn is not None:
            self.conn.pause(True)

    def resume_reading(self, sub: Subscription) -> None:
        """Thread-safe: called by a consumer once it has drained."""
        from ._portal import get_portal

        portal = get_portal()
        if portal.in_loop_thread():
            self._resume(id(sub))
        else:
            portal.loop.call_soon_threadsafe(self._resume, id(sub))

    def _resume(self, key: int) -> None:
        self._blocked.discard(key)
        if not self._blocked and self.conn is not None:
            self.conn.pause(False)

    def _close_subscriptions(self) -> None:
        for sub in self.subscriptions:
            sub.cancel()

    # -- connection notifications ---------------------------------------------------------

    def _emit(self, event: ConnectionEvent) -> None:
        for callback in self.listeners:
            try:
                callback(event)
            except Exception:
                log.exception("on_connection callback raised")

    # -- closing --------------------------------------------------------------------------

    async def close(self, timeout: float) -> None:
        """Log off (``Response: Goodbye``), stop every task, close the socket."""
        if self.closed and self.supervisor is None:
            self._close_subscriptions()
            return
        self.closing = True
        supervisor, self.supervisor = self.supervisor, None
        if supervisor is not None and not supervisor.done():
            supervisor.cancel()
        if supervisor is not None:
            with contextlib.suppress(BaseException):
                await supervisor
        conn = self.conn
        if conn is not None and not conn.dead:
            with contextlib.suppress(AmiError):
                await conn.request("Logoff", (), min(timeout, 5.0), raise_on_error=False)
            pinger = conn.pinger
            conn.fail("closed by the client")
            if pinger is not None:
                with contextlib.suppress(BaseException):
                    await pinger
            await conn.wait_closed()
        self.conn = None
        was_closed = self.closed
        self.closed = True
        self._close_subscriptions()
        if not was_closed:
            self._emit(
                ConnectionEvent(
                    "closed", self.generation, datetime.now(_UTC), reason="closed by the client"
                )
            )

    # -- stats ----------------------------------------------------------------------------

    def stats(self) -> ClientStats:
        subs = self.subscriptions
        return ClientStats(
            received=self.received,
            delivered=self.gone_delivered + sum(s.delivered for s in subs),
            dropped=self.gone_dropped + sum(s.dropped for s in subs),
            lag=max((s.lag for s in subs), default=0.0),
            reconnects=self.reconnects,
            queued=sum(s.queued for s in subs),
            bytes_received=self.bytes_received,
            protocol_errors=self.protocol_errors,
            unmatched=self.unmatched,
            callback_errors=self.gone_errors + sum(s.errors for s in subs),
            generation=self.generation,
            connected=self.connected,
        )
