"""``AMIClient``: the two faces (sync and async) of one engine.

Strategy
--------
Each blocking operation is written twice by hand, side by side: ``x()`` runs the engine's
coroutine on the portal loop and blocks for the result (:meth:`Portal.call`); ``ax()`` awaits
the same coroutine from the caller's loop (:meth:`Portal.acall`). A face method holds no
logic: it checks its arguments and forwards them to one engine coroutine, which owns every
deadline (connect, actions), the kept state (event mask, filters) and raises amikit's errors
only. The sync face's own wait is a backstop beyond the engine's deadline. A test compares
the signatures of every pair and the engine call each one makes.

Threads in one picture::

    your thread / your loop          amikit-loop (one per process)
    ----------------------           ----------------------------
    client.action(...)  ── call ──▶  ClientEngine.action ─▶ socket
        (blocks, Ctrl-C cancels)          │
    await client.aaction(...) ─ acall ─▶  │            ◀─ data_received: parse, stamp,
                                          │               resolve ActionIDs, dispatch
    on(thread="caller") callbacks ◀── call_soon_threadsafe / worker thread
    on(thread="loop") callbacks   ◀── run right here, in the reader
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from typing import Any, Literal

from .._exceptions import UsageError
from ..protocol import Message
from . import _hints
from ._engine import ClientEngine
from ._portal import get_portal
from ._subscribe import AsyncEventStream, EventStream, Pattern, Subscription
from ._values import ActionResponse, ClientStats, Config, ConnectionEvent

__all__ = ["AMIClient", "ConnectionHandle"]

# Seconds a sync face waits beyond the engine's own deadline before giving up itself.
_BACKSTOP = 5.0


def _tls_context(tls: bool | str | ssl.SSLContext | None) -> ssl.SSLContext | None:
    if tls is None or tls is False:
        return None
    if isinstance(tls, ssl.SSLContext):
        return tls
    if tls is True:
        return ssl.create_default_context()
    if tls == "no-verify":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    raise UsageError("tls must be None, True, 'no-verify' or an ssl.SSLContext")


def _mask_text(events: bool | str) -> str:
    if events is True:
        return "on"
    if events is False:
        return "off"
    if isinstance(events, str) and events.strip():
        return events.strip()
    raise UsageError("events must be True, False or a class list such as 'call,system'")


def _fields(fields: Mapping[str, Any] | None, headers: Mapping[str, Any]) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = list(fields.items()) if fields else []
    pairs.extend(headers.items())
    return pairs


def _filter_fields(value: str | None, match_criteria: str | None) -> list[tuple[str, Any]]:
    if value is None and match_criteria is None:
        raise UsageError("add_filter needs a filter value, match_criteria, or both")
    pairs: list[tuple[str, Any]] = [("Operation", "Add")]
    if value is not None:
        pairs.append(("Filter", value))
    if match_criteria is not None:
        pairs.append(("MatchCriteria", match_criteria))
    return pairs


class ConnectionHandle:
    """Returned by :meth:`AMIClient.on_connection`; :meth:`cancel` stops the notifications."""

    def __init__(self, engine: ClientEngine, callback: Callable[[ConnectionEvent], Any]) -> None:
        self._engine = engine
        self.callback = callback

    def cancel(self) -> None:
        """Stop calling the callback (a notice being delivered right now still arrives)."""
        self._engine.listeners = tuple(c for c in self._engine.listeners if c is not self.callback)
        self._engine.settle()


class AMIClient:
    """An AMI client: synchronous in scripts, awaitable on any event loop, always connected.

    Every blocking operation comes twice: ``connect``/``aconnect``, ``action``/``aaction``,
    ``command``/``acommand``, ``ping``/``aping``, ``set_event_mask``/``aset_event_mask``,
    ``add_filter``/``aadd_filter``, ``close``/``aclose``. The sync ones work in scripts and in
    notebook cells; the ``a`` ones are for code already on an event loop (top-level ``await``
    in a notebook, an asyncio app). Both run on amikit's own loop thread; nothing patches
    your loop.

    Parameters
    ----------
    host, port : str, int
        The AMI server (``manager.conf`` ``bindaddr``/``port``).
    username, secret : str
        Credentials. The secret is never shown in reprs, logs or exceptions.
    tls : None, True, "no-verify" or ssl.SSLContext
        None: plain TCP. True: TLS with certificate and host name verification.
        ``"no-verify"``: TLS without verification (self-signed lab servers, explicit opt-out).
        A context: used as given.
    auth : {"md5", "plain"}
        ``"md5"``: ``Challenge`` then ``Login`` with ``Key = md5(challenge + secret)``, so the
        secret never crosses the wire. ``"plain"``: ``Login`` with ``Secret``.
    ping_interval, ping_timeout : float
        Send ``Ping`` every ``ping_interval`` seconds; no reply within ``ping_timeout`` means
        the connection is dead (this catches half-open connections). ``ping_interval=0``
        turns pinging off.
    reconnect : bool
        Reconnect after a loss, with exponential back-off and jitter (see ``backoff``).
    events : bool or str
        Event mask sent at login (``Events:`` header): True (``on``), False (``off``) or a
        class list like ``"call,system"``.
    timeout : float
        Default deadline in seconds for connecting and for each action.
    backoff : (float, float)
        First and largest delay between reconnection attempts, seconds.

    Examples
    --------
    >>> with AMIClient("127.0.0.1", 5038, "admin", "amikit") as ami:      # doctest: +SKIP
    ...     ami.on("Hangup", lambda m: print(m["Channel"], m["Cause-txt"]))
    ...     print(ami.command("core show channels"))

    >>> async with AMIClient("127.0.0.1", 5038, "admin", "amikit") as ami:  # doctest: +SKIP
    ...     resp = await ami.aaction("CoreStatus")
    ...     async for event in ami.aevents("Newchannel", timeout=60):
    ...         print(event["Channel"])
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5038,
        username: str | None = None,
        secret: str | None = None,
        *,
        tls: bool | str | ssl.SSLContext | None = None,
        auth: Literal["md5", "plain"] = "md5",
        ping_interval: float = 20.0,
        ping_timeout: float = 25.0,
        reconnect: bool = True,
        events: bool | str = True,
        timeout: float = 10.0,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        if auth not in ("md5", "plain"):
            raise UsageError("auth must be 'md5' or 'plain'")
        if timeout <= 0 or ping_timeout <= 0 or ping_interval < 0:
            raise UsageError("timeout and ping_timeout must be > 0, ping_interval >= 0")
        if not (0 < backoff[0] <= backoff[1]):
            raise UsageError("backoff must be (first, largest) with 0 < first <= largest")
        self._engine = ClientEngine(
            Config(
                host=host,
                port=int(port),
                username=username,
                secret=secret,
                tls=_tls_context(tls),
                auth=auth,
                ping_interval=float(ping_interval),
                ping_timeout=float(ping_timeout),
                reconnect=bool(reconnect),
                backoff=(float(backoff[0]), float(backoff[1])),
                events=_mask_text(events),
                timeout=float(timeout),
            )
        )
        self._portal = get_portal()

    def __repr__(self) -> str:
        e = self._engine
        state = (
            "closed"
            if e.closed
            else "connected"
            if e.connected
            else "reconnecting"
            if e.generation
            else "new"
        )
        return f"<AMIClient {e.config.username}@{self.server} {state} generation={e.generation}>"

    # -- properties ---------------------------------------------------------------------

    @property
    def server(self) -> str:
        """``"host:port"`` of the server."""
        return self._engine.server

    @property
    def generation(self) -> int:
        """Connection generation: 0 before connecting, 1 for the first connection, +1 per
        reconnect. Every received message carries it as ``.connection``."""
        return self._engine.generation

    @property
    def connected(self) -> bool:
        """True while logged in on a live connection."""
        return self._engine.connected

    @property
    def closed(self) -> bool:
        """True after close(), or after a reconnect was refused by the server."""
        return self._engine.closed

    @property
    def stats(self) -> ClientStats:
        """Counters: received, delivered, dropped, lag, reconnects, ... (a snapshot)."""
        return self._engine.stats()

    def _timeout(self, timeout: float | None) -> float:
        return self._engine.config.timeout if timeout is None else float(timeout)

    def _backstop(self, timeout: float | None) -> float:
        """How long a sync face waits: the engine's own deadline, then a margin."""
        return self._timeout(timeout) + _BACKSTOP

    # -- connect ------------------------------------------------------------------------

    def connect(self, *, timeout: float | None = None) -> AMIClient:
        """Connect, read the banner and log in. Returns the client.

        Raises
        ------
        ConnectError, AmiTimeout, AuthenticationError
            The first connection is not retried: a wrong address or wrong credentials are
            reported at once.
        """
        self._portal.call(self._engine.connect(timeout), self._backstop(timeout))
        return self

    async def aconnect(self, *, timeout: float | None = None) -> AMIClient:
        """Awaitable :meth:`connect`."""
        await self._portal.acall(self._engine.connect(timeout))
        return self

    # -- actions ------------------------------------------------------------------------

    def action(
        self,
        name: str,
        fields: Mapping[str, Any] | None = None,
        /,
        *,
        timeout: float | None = None,
        raise_on_error: bool = True,
        check: bool = True,
        **headers: Any,
    ) -> ActionResponse:
        """Send action ``name`` and return its response.

        Parameters
        ----------
        name : str
            The action (``"Originate"``, ``"CoreShowChannels"``, ...).
        fields : mapping, optional
            Headers whose names are not Python identifiers; a list value repeats the header.
        timeout : float, optional
            Seconds to wait for the response (and the whole event list); client default.
        raise_on_error : bool
            Raise :class:`~amikit.ActionError` on ``Response: Error`` (default). A refusal
            amikit can explain (an unknown action, a missing write class) carries ``.hint``.
        check : bool
            Compare the headers with Asterisk's documentation of the action first: an
            undocumented header warns (:class:`~amikit.client.AmiHint`, with the closest
            documented name), a missing required one raises
            :class:`~amikit.client.MissingParameterError` and sends nothing. False skips
            this, for a custom or newer action. Undocumented actions are never checked.
        **headers
            Headers, e.g. ``Channel="PJSIP/100"``. An ``ActionID`` you give is used as is;
            otherwise a unique one is generated.

        Returns
        -------
        ActionResponse
            A Message; for event-list actions ``.events`` holds the items (terminator in
            ``.list_end``).

        Raises
        ------
        ActionError, AmiTimeout, ConnectionLost, UsageError, MissingParameterError
        """
        return _hints.call(
            name,
            _fields(fields, headers),
            check,
            lambda pairs: self._portal.call(
                self._engine.action(name, pairs, timeout, raise_on_error),
                self._backstop(timeout),
            ),
        )

    async def aaction(
        self,
        name: str,
        fields: Mapping[str, Any] | None = None,
        /,
        *,
        timeout: float | None = None,
        raise_on_error: bool = True,
        check: bool = True,
        **headers: Any,
    ) -> ActionResponse:
        """Awaitable :meth:`action`."""
        return await _hints.acall(
            name,
            _fields(fields, headers),
            check,
            lambda pairs: self._portal.acall(
                self._engine.action(name, pairs, timeout, raise_on_error)
            ),
        )

    def command(
        self, text: str, *, timeout: float | None = None, raise_on_error: bool = True
    ) -> str:
        """Run a CLI command (``Action: Command``) and return its output text.

        Works with both dialects: Asterisk >= 14 (``Output:`` headers) and <= 13
        (``Response: Follows`` ... ``--END COMMAND--``).
        """
        return "\n".join(
            self.action(
                "Command", timeout=timeout, raise_on_error=raise_on_error, Command=text
            ).output
        )

    async def acommand(
        self, text: str, *, timeout: float | None = None, raise_on_error: bool = True
    ) -> str:
        """Awaitable :meth:`command`."""
        response = await self.aaction(
            "Command", timeout=timeout, raise_on_error=raise_on_error, Command=text
        )
        return "\n".join(response.output)

    def ping(self, *, timeout: float | None = None) -> ActionResponse:
        """Send ``Ping``; returns the ``Pong`` response (its ``Timestamp`` is server time)."""
        return self.action("Ping", timeout=timeout)

    async def aping(self, *, timeout: float | None = None) -> ActionResponse:
        """Awaitable :meth:`ping`."""
        return await self.aaction("Ping", timeout=timeout)

    def set_event_mask(self, mask: bool | str, *, timeout: float | None = None) -> ActionResponse:
        """Change the event mask (``Action: Events``); kept for reconnections."""
        coro = self._engine.set_event_mask(_mask_text(mask), timeout)
        return self._portal.call(coro, self._backstop(timeout))

    async def aset_event_mask(
        self, mask: bool | str, *, timeout: float | None = None
    ) -> ActionResponse:
        """Awaitable :meth:`set_event_mask`."""
        return await self._portal.acall(self._engine.set_event_mask(_mask_text(mask), timeout))

    def add_filter(
        self,
        value: str | None = None,
        *,
        match_criteria: str | None = None,
        timeout: float | None = None,
    ) -> ActionResponse:
        """Add a server-side event filter (``Action: Filter``); re-applied after reconnects.

        Parameters
        ----------
        value : str, optional
            Legacy form: a regex over the event text (``"Event: Hangup"``), ``!`` prefix to
            exclude. With ``match_criteria``: the value to match.
        match_criteria : str, optional
            The newer form (Asterisk 18.26 / 20.11 / 21.6 / 22.1+), e.g.
            ``"action(exclude),name(Newexten),header(Context),method(starts_with)"``.
        """
        coro = self._engine.add_filter(_filter_fields(value, match_criteria), timeout)
        return self._portal.call(coro, self._backstop(timeout))

    async def aadd_filter(
        self,
        value: str | None = None,
        *,
        match_criteria: str | None = None,
        timeout: float | None = None,
    ) -> ActionResponse:
        """Awaitable :meth:`add_filter`."""
        coro = self._engine.add_filter(_filter_fields(value, match_criteria), timeout)
        return await self._portal.acall(coro)

    # -- subscriptions ------------------------------------------------------------------

    def on(
        self,
        pattern: Pattern,
        callback: Callable[[Message], Any],
        *,
        thread: Literal["loop", "caller"] = "loop",
        lossless: bool | None = None,
        maxsize: int | None = None,
    ) -> Subscription:
        """Call ``callback(message)`` for every matching event; returns a handle to cancel.

        Parameters
        ----------
        pattern : str, list of str, or callable
            ``"Hangup"``, ``"Dial*"`` (wildcards, case-insensitive), ``["A", "B"]``, ``"*"``
            (everything), or a predicate ``f(message) -> bool``.
        callback : callable
            Gets each :class:`~amikit.Message`. Exceptions are logged and counted, never fatal.
        thread : {"loop", "caller"}
            ``"loop"``: run on the amikit loop thread, in the reader, with no queue: for fast,
            non-blocking consumers. ``"caller"``: run on the event loop of the thread calling
            ``on()`` (a notebook's kernel loop, an asyncio app), or, if that thread runs no
            loop, on a worker thread of this subscription.
        lossless : bool, optional
            For ``thread="caller"``, True by default: a callback on your thread gets every
            event. Its buffer holds 1,000,000 events (seconds of a flood at full read
            speed, minutes of a busy PBX); only when it is full does reading pause until the
            callback catches up. False: a bounded queue that drops the oldest when full
            (counted in ``stats.dropped``), for a live view that only wants the newest.
            (``thread="loop"`` has no queue.)
        maxsize : int, optional
            Queue bound (default 1,000,000 when lossless, else 10,000).
        """
        if thread not in ("loop", "caller"):
            raise UsageError("thread must be 'loop' or 'caller'")
        if not callable(callback):
            raise UsageError("callback must be callable")
        if thread == "loop" or self._portal.in_loop_thread():
            mode: Any = "direct"
            target = None
        else:
            target = _running_loop()
            mode = "loop" if target is not None else "worker"
        if lossless is None:  # a callback on the user's thread must not silently lose events
            lossless = thread == "caller"
        sub = Subscription(
            self._engine,
            pattern,
            callback,
            mode=mode,
            lossless=lossless,
            maxsize=maxsize,
            target_loop=target,
        )
        self._engine.add_subscription(sub)
        return sub

    def events(
        self,
        pattern: Pattern = "*",
        *,
        timeout: float | None = None,
        lossless: bool = False,
        maxsize: int | None = None,
    ) -> EventStream:
        """A blocking iterator over matching events (ends after ``timeout`` idle seconds).

        >>> for event in client.events("Hangup", timeout=30):     # doctest: +SKIP
        ...     print(event["Channel"])
        """
        sub = Subscription(
            self._engine, pattern, None, mode="queue", lossless=lossless, maxsize=maxsize
        )
        self._engine.add_subscription(sub)
        return EventStream(sub, timeout)

    def aevents(
        self,
        pattern: Pattern = "*",
        *,
        timeout: float | None = None,
        lossless: bool = False,
        maxsize: int | None = None,
    ) -> AsyncEventStream:
        """An async iterator over matching events, bound to the calling loop.

        >>> async with client.aevents("Hangup", timeout=30) as stream:  # doctest: +SKIP
        ...     async for event in stream:
        ...         print(event["Channel"])
        """
        target = _running_loop()
        if target is None:
            raise UsageError("aevents() needs a running event loop; use events() instead")
        sub = Subscription(
            self._engine,
            pattern,
            None,
            mode="queue",
            lossless=lossless,
            maxsize=maxsize,
            target_loop=target,
        )
        stream = AsyncEventStream(sub, timeout)
        self._engine.add_subscription(sub)
        return stream

    def on_connection(self, callback: Callable[[ConnectionEvent], Any]) -> ConnectionHandle:
        """Call ``callback(ConnectionEvent)`` on the amikit loop thread at every state change.

        Kinds: ``connected``, ``disconnected`` (with ``gap_start`` and ``reason``),
        ``reconnected`` (with the gap ``gap_start``..``gap_end``) and ``closed``.
        """
        engine = self._engine
        engine.listeners = (*engine.listeners, callback)
        return ConnectionHandle(engine, callback)

    # -- close --------------------------------------------------------------------------

    def close(self, *, timeout: float | None = None) -> None:
        """Log off (``Response: Goodbye``), stop every task and worker thread, close."""
        t = self._timeout(timeout)
        subs = self._engine.subscriptions
        self._portal.call(self._engine.close(t), t + _BACKSTOP)
        for sub in subs:
            sub.join(t)

    async def aclose(self, *, timeout: float | None = None) -> None:
        """Awaitable :meth:`close`."""
        t = self._timeout(timeout)
        subs = self._engine.subscriptions
        await self._portal.acall(self._engine.close(t))
        for sub in subs:
            await sub.ajoin(t)

    def __enter__(self) -> AMIClient:
        if not self.connected:
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> AMIClient:
        if not self.connected:
            await self.aconnect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
