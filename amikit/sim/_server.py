"""A test AMI server: the real protocol on 127.0.0.1, with fault controls.

Strategy
--------
:class:`AMIServer` runs its own asyncio loop in its own daemon thread, so a test (or a
notebook) can drive a client against it from any thread, and the client's private loop is
never the server's loop: a client bug cannot hide behind a shared loop.

It speaks AMI through :mod:`amikit.protocol` (a ``Parser(banner=False)`` per session reads
actions; replies are encoded with :func:`~amikit.protocol.encode_message`) and behaves like
Asterisk's ``manager.c`` where a client can tell the difference:

* banner ``Asterisk Call Manager/<version>``; before login only ``Login``, ``Challenge`` and
  ``Logoff`` are accepted (anything else: ``Permission denied``);
* ``Login`` with a plain ``Secret`` or ``AuthType: MD5`` + ``Key = md5(challenge + secret)``;
  a refused login answers ``Authentication failed`` and closes the connection;
* users carry ``read`` / ``write`` class lists as in ``manager.conf``. An action needs one of
  its classes in the user's write list; an event is delivered only when the user's read list
  *and* the session's event mask hold every class of the event's ``Privilege:`` header, and
  the session's filters let it through (the rules: :mod:`amikit.sim._filters`);
* the built-in actions (``Login``, ``Events``, ``Filter``, ``Command`` in either dialect,
  ``CoreShowChannels`` ...) are ordinary handlers: :mod:`amikit.sim._builtin_actions`.

The simulated PBX (``amikit.sim``) builds on two hooks:

* :meth:`AMIServer.register_action` adds or replaces an action handler;
* :meth:`AMIServer.broadcast` sends an event to every session allowed to see it.

Every outgoing frame goes through a per-session writer task that batches frames into one
``write()``; that is where the fault controls act (``go_silent``, ``slow_down``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._exceptions import RemoteProtocolError, UsageError
from .._loop_thread import LoopThread
from .._privilege import privilege_classes
from ..protocol import Message, Parser, encode_message
from ._builtin_actions import BUILTIN_ACTIONS, PRE_AUTH, builtin_commands, error_reply
from ._filters import CLASSES, EventFilter, parse_classes, passes_filters

__all__ = ["AMIServer", "ActionHandler", "ServerSession", "User"]

log = logging.getLogger("amikit.sim.server")

Pairs = Sequence[tuple[str, Any]]
Frame = Pairs | Message
ActionHandler = Callable[
    ["ServerSession", Message],
    Iterable[Frame] | Awaitable[Iterable[Frame] | None] | None,
]


@dataclass(frozen=True)
class User:
    """A manager.conf user: name, secret and the ``read`` / ``write`` class lists.

    Parameters
    ----------
    name, secret : str
        Credentials. The secret never appears in ``repr()``.
    read, write : str
        Comma-separated classes (``"all"``, ``"system,call"``, ``""`` for none).
    """

    name: str
    secret: str = field(repr=False)
    read: str = "all"
    write: str = "all"


class ServerSession:
    """One client connection as the server sees it.

    Attributes
    ----------
    username : str or None
        The logged-in user (None before login).
    read, write : frozenset of str
        The user's class lists, expanded.
    event_mask : frozenset of str
        Classes the session asked for (``Events`` action or ``Events:`` at login).
    authenticated : bool
    peer : tuple
        The client's address.
    """

    def __init__(self, server: AMIServer, reader: asyncio.StreamReader, writer: Any) -> None:
        self.server = server
        self._reader = reader
        self._writer = writer
        self.peer = writer.get_extra_info("peername")
        self.username: str | None = None
        self.read: frozenset[str] = frozenset()
        self.write: frozenset[str] = frozenset()
        self.event_mask: frozenset[str] = CLASSES
        self.authenticated = False
        self.challenge: str | None = None
        self.filters: list[EventFilter] = []
        self.actions_received = 0
        self._out: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._reader_task: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._action_tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        who = self.username or "(not logged in)"
        return f"<ServerSession {who} from {self.peer} read={','.join(sorted(self.read))}>"

    @property
    def backlog(self) -> int:
        """Frames queued for this client and not yet written (a slow reader grows it)."""
        return len(self._out)

    # -- output -------------------------------------------------------------------------

    @property
    def closing(self) -> bool:
        """True once the session is being closed; stop producing for it."""
        return self._closing

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` on the server loop as part of this session (cancelled with it)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._action_tasks.add(task)
        task.add_done_callback(self._action_tasks.discard)
        return task

    def send(self, data: bytes | Frame) -> None:
        """Queue one frame (bytes, pairs or a Message) for this client. Loop thread only."""
        if isinstance(data, Message):
            data = data.raw
        elif not isinstance(data, (bytes, bytearray)):
            data = encode_message(data)
        if self._closing:
            return
        self._out.append(bytes(data))
        self._wake.set()

    def reply(self, action_id: str | None, frames: Iterable[bytes | Frame]) -> None:
        """Queue an action's reply frames, each with the action's ``ActionID``. Loop thread only.

        ``bytes`` frames go out as given (pre-built, e.g. old-style ``Command`` output); in the
        others the ``ActionID`` goes second, after ``Response``/``Event``, as Asterisk puts it.
        """
        for frame in frames:
            if isinstance(frame, (bytes, bytearray)):
                self.send(bytes(frame))
                continue
            pairs = list(frame.items() if isinstance(frame, Message) else frame)
            if action_id is not None and not any(k.lower() == "actionid" for k, _ in pairs):
                pairs.insert(1, ("ActionID", action_id))
            self.send(encode_message(pairs))

    async def send_bulk(self, data: bytes) -> None:
        """Write ``data`` now and wait until the socket buffer drains (bulk senders).

        Frames queued with :meth:`send` go first; fault controls do not apply here.
        """
        while self._out and not self._closing:
            await asyncio.sleep(0)  # let the writer task flush what send() queued
        if self._closing:
            raise ConnectionResetError("session closed")
        self._writer.write(data)
        await self._writer.drain()

    async def _write_loop(self) -> None:
        writer = self._writer
        server = self.server
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._out:
                    if server._silent:
                        self._out.clear()  # a silent server writes nothing at all
                        break
                    if server._slow > 0:
                        await asyncio.sleep(server._slow)  # a peer that writes slowly
                        if self._out:
                            writer.write(self._out.popleft())
                            await writer.drain()
                        continue
                    chunk = b"".join(self._out)
                    self._out.clear()
                    writer.write(chunk)
                    await writer.drain()
                if self._closing:
                    return
        except (ConnectionError, OSError):
            return

    # -- events -------------------------------------------------------------------------

    def wants(self, msg: Message, privilege: frozenset[str], text: str | None) -> bool:
        """Whether this session may see ``msg`` (read classes, event mask, filters)."""
        if not self.authenticated:
            return False
        if privilege and not (privilege <= self.read and privilege <= self.event_mask):
            return False
        if not self.filters:
            return True
        if text is None:
            text = msg.raw.decode("utf-8", "replace")
        return passes_filters(self.filters, msg, text)

    async def close(self) -> None:
        """Flush what is queued, then close the connection."""
        self._closing = True
        self._wake.set()
        if self._writer_task is not None and self._writer_task is not asyncio.current_task():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._writer_task), 1.0)
        self.abort()

    def abort(self) -> None:
        """Close the connection now, dropping anything queued."""
        self._closing = True
        self._out.clear()
        self._wake.set()
        transport = self._writer.transport
        if transport is not None:
            # Also when already closing: a close() still flushing to a peer that stopped
            # reading would keep its socket open past the end of the server's loop (found
            # as an "unclosed socket" ResourceWarning, at whatever moment the GC ran).
            transport.abort()


class AMIServer:
    """An AMI server on 127.0.0.1 for tests and the simulated PBX.

    Runs on its own asyncio loop in its own daemon thread; every public method is
    thread-safe unless it says otherwise.

    Parameters
    ----------
    users : list of User, optional
        Who may log in. Default: ``[User("admin", "amikit")]`` (the demo credentials).
    host : str
        Only ``127.0.0.1`` (or ``localhost``/``::1``) is allowed.
    port : int
        0 lets the OS choose; read :attr:`port` after :meth:`start`.
    tls : ssl.SSLContext, optional
        A server-side context to speak AMI over TLS.
    command_dialect : {"new", "old"}
        ``Command`` output as Asterisk >= 14 (``Output:`` headers) or <= 13 (``Follows``).
    banner : str
        The first line sent to each client.

    Examples
    --------
    >>> from amikit import AMIClient
    >>> with AMIServer([User("admin", "amikit")]) as server:
    ...     server.register_action("Hello", lambda s, m: [[("Response", "Success")]])
    ...     with AMIClient(server.host, server.port, "admin", "amikit") as ami:
    ...         print(ami.action("Hello")["Response"])
    ...     server.broadcast([("Event", "UserEvent"), ("UserEvent", "Hi")])
    Success
    """

    def __init__(
        self,
        users: list[User] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        command_dialect: Literal["new", "old"] = "new",
        banner: str = "Asterisk Call Manager/11.0.0",
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise UsageError(f"AMIServer listens on loopback only, not {host!r}")
        if command_dialect not in ("new", "old"):
            raise ValueError("command_dialect must be 'new' or 'old'")
        self.users: dict[str, User] = {u.name: u for u in (users or [User("admin", "amikit")])}
        self.host = host
        self.port = port
        self.tls = tls
        self.command_dialect = command_dialect
        self.banner = banner
        #: Channels listed by the built-in ``CoreShowChannels`` (lists of pairs).
        self.channels: list[list[tuple[str, str]]] = []
        #: CLI commands known to the built-in ``Command``: text -> function returning output.
        self.commands: dict[str, Callable[[], str]] = builtin_commands(self)
        self._handlers: dict[str, tuple[ActionHandler, frozenset[str]]] = {
            name.lower(): (handler, parse_classes(privilege))
            for name, (handler, privilege) in BUILTIN_ACTIONS.items()
        }
        self._sessions: list[ServerSession] = []
        # Sessions whose client is gone but whose connection is still being closed (their
        # last bytes flushing); stop() must close them too, or their sockets outlive the loop.
        self._ending: set[ServerSession] = set()
        self._login_hooks: list[Callable[[ServerSession], Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._silent = False
        self._slow = 0.0
        self._started_at = time.time()
        self._reloaded_at = self._started_at
        self.calls_processed = 0
        #: Counters for tests: connections accepted, Login actions answered (ok or not).
        self.connections_accepted = 0
        self.login_attempts = 0

    def __repr__(self) -> str:
        state = f"{self.host}:{self.port}" if self._server else "stopped"
        return f"<AMIServer {state} sessions={len(self._sessions)}>"

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> AMIServer:
        """Start the loop thread and listen; returns self once the port is bound."""
        if self._thread is not None:
            raise UsageError("AMIServer already started")
        runner = LoopThread("amikit-sim-server")
        self._loop, self._thread = runner.loop, runner.thread
        self._call(self._listen())
        return self

    def stop(self) -> None:
        """Close every session, stop listening and end the loop thread."""
        if self._loop is None or self._thread is None:
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown(), timeout=10.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10.0)
        self._loop = None
        self._thread = None

    def __enter__(self) -> AMIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Awaitable[Any], timeout: float = 10.0) -> Any:
        loop = self._loop
        if loop is None:
            raise UsageError("AMIServer is not running")
        if threading.current_thread() is self._thread:
            raise UsageError("blocking AMIServer call from its own loop thread")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)  # type: ignore[arg-type]

    def _soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the server loop (directly when already on it)."""
        loop = self._loop
        if loop is None:
            raise UsageError("AMIServer is not running")
        if threading.current_thread() is self._thread:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._on_client,
            self.host,
            self.port,
            ssl=self.tls,
            reuse_address=True,
            limit=1 << 20,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            for session in list(self._sessions):
                session.abort()
            await self._server.wait_closed()
            self._server = None
        for session in [*self._sessions, *self._ending]:
            session.abort()
        tasks = [
            t
            for s in [*self._sessions, *self._ending]
            for t in (s._reader_task, s._writer_task, *s._action_tasks)
            if t is not None and not t.done()
        ]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=2.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._sessions.clear()
        self._ending.clear()

    @property
    def address(self) -> str:
        """``"host:port"``, ready for ``amikit tail``."""
        return f"{self.host}:{self.port}"

    @property
    def sessions(self) -> list[ServerSession]:
        """The live sessions (a snapshot)."""
        return list(self._sessions)

    # -- extension points ---------------------------------------------------------------

    def register_action(self, name: str, handler: ActionHandler, *, privilege: str = "") -> None:
        """Add (or replace) the handler of action ``name``.

        Parameters
        ----------
        name : str
            The action name, matched case-insensitively (as Asterisk does).
        handler : callable
            ``handler(session, msg)`` runs on the server loop and returns the reply frames: a
            list whose items are lists of ``(key, value)`` pairs or :class:`~amikit.Message`
            objects, or ``bytes`` of a complete frame sent exactly as given (no ActionID is
            added: for unusual frames such as old-style ``Follows`` output, or unrelated
            events interleaved in a list); ``None`` or ``[]``: no reply. It may be
            ``async def``. The first frame is the ``Response``; later frames are the events
            of an event list. The server adds the action's ``ActionID`` to every frame that
            is not bytes. An exception becomes ``Response: Error`` with the exception text
            as ``Message``. An ``async`` handler runs as a task of its own, so the session
            goes on reading and answering other actions meanwhile (replies may then come in
            a different order than the actions; ``Login``/``Logoff`` are always in order).
            Use ``session.send(...)`` for anything else (e.g. events after a delay) and
            :meth:`broadcast` for events everyone may see.
        privilege : str
            Write classes of which the user needs at least one (``"originate"``); ``""``
            allows every logged-in user.
        """
        self._handlers[name.lower()] = (handler, parse_classes(privilege))

    def broadcast(self, event: bytes | Frame) -> None:
        """Send an event to every logged-in session allowed to see it. Thread-safe.

        ``event`` is a list of ``(key, value)`` pairs, a Message, or pre-encoded bytes of one
        frame. The ``Privilege:`` header's classes (``call,all`` -> ``{call}``) must all be in
        the session's read classes and event mask; then the session's filters decide.
        """
        if isinstance(event, Message):
            msg = event
        elif isinstance(event, (bytes, bytearray)):
            msg = Message(bytes(event))
        else:
            msg = Message(encode_message(event))
        self._soon(self._broadcast, msg)

    def _broadcast(self, msg: Message) -> None:
        self.deliver(msg)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule ``fn(*args)`` on the server loop. Thread-safe.

        Always scheduled, never run inline, even from the loop thread: what the caller is
        doing now (e.g. queueing an action's response) goes out first.
        """
        loop = self._loop
        if loop is None:
            raise UsageError("AMIServer is not running")
        loop.call_soon_threadsafe(fn, *args)

    def deliver(self, msg: Message, privilege: frozenset[str] | None = None) -> None:
        """On the server loop: send one event to every session allowed to see it.

        ``privilege`` is the event's class set when the caller already knows it (a flood
        of pre-rendered events need not re-read every ``Privilege:`` header).
        """
        if privilege is None:
            privilege = privilege_classes(msg.get("Privilege"))
        for session in self._sessions:
            if session.wants(msg, privilege, None):
                session.send(msg.raw)

    @property
    def max_backlog(self) -> int:
        """The longest write queue of any session, in frames (for producers that pace)."""
        return max((s.backlog for s in self._sessions), default=0)

    def on_login(self, callback: Callable[[ServerSession], Any]) -> None:
        """Call ``callback(session)`` on the server loop after each successful login.

        It runs after the login response is queued, so anything it sends comes after it.
        """
        self._login_hooks.append(callback)

    # -- fault controls -----------------------------------------------------------------

    def drop_connections(self) -> None:
        """Abort every client connection at once (RST-like; the port keeps listening)."""
        self._call(self._drop())

    async def _drop(self) -> None:
        for session in list(self._sessions):
            session.abort()

    def go_silent(self, silent: bool = True) -> None:
        """Stop writing and stop answering (True) or resume (False); sockets stay open.

        Actions received while silent are read and discarded, like a hung peer; this is the
        half-open connection a client must detect with its ping deadline.
        """
        self._silent = bool(silent)
        if not silent and self._loop is not None:
            self._soon(self._wake_all)

    def _wake_all(self) -> None:
        for session in self._sessions:
            session._wake.set()

    def slow_down(self, seconds_per_write: float) -> None:
        """Wait ``seconds_per_write`` before writing each frame (0 restores full speed)."""
        self._slow = max(0.0, float(seconds_per_write))

    def send_raw(self, data: bytes) -> None:
        """Write ``data`` as is (garbage, partial frames) to every connected session."""
        self._soon(self._send_raw, bytes(data))

    def _send_raw(self, data: bytes) -> None:
        for session in self._sessions:
            session.send(data)

    def restart(self) -> None:
        """Close every connection and the listening socket, then listen on the same port."""
        self._call(self._restart())

    async def _restart(self) -> None:
        port = self.port
        await self._shutdown()
        self.port = port
        self._started_at = self._reloaded_at = time.time()
        for attempt in range(50):
            try:
                await self._listen()
                return
            except OSError:  # the old socket may linger a moment
                if attempt == 49:
                    raise
                await asyncio.sleep(0.02)

    # -- connection handling ------------------------------------------------------------

    async def _on_client(self, reader: asyncio.StreamReader, writer: Any) -> None:
        session = ServerSession(self, reader, writer)
        self.connections_accepted += 1
        self._sessions.append(session)
        loop = asyncio.get_running_loop()
        session._reader_task = asyncio.current_task()  # type: ignore[assignment]
        session._writer_task = loop.create_task(session._write_loop())
        session.send(f"{self.banner}\r\n".encode())
        try:
            await self._read_loop(session, reader)
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass  # stopping: a cancelled client callback would only be logged by asyncio
        finally:
            if session in self._sessions:
                self._sessions.remove(session)
            self._ending.add(session)
            for task in list(session._action_tasks):
                task.cancel()
            if not session._closing:
                session._closing = True
                session._wake.set()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(session._writer_task, 1.0)
            session.abort()
            self._ending.discard(session)

    async def _read_loop(self, session: ServerSession, reader: asyncio.StreamReader) -> None:
        parser = Parser(banner=False)
        while not session._closing:
            data = await reader.read(65536)
            if not data:
                return
            try:
                messages = parser.feed(data)
            except RemoteProtocolError as exc:
                messages = exc.messages
                log.info("bad bytes from %s: %s", session.peer, exc)
            for msg in messages:
                if self._silent:
                    continue
                await self._dispatch(session, msg)
                if session._closing:
                    return

    async def _dispatch(self, session: ServerSession, msg: Message) -> None:
        session.actions_received += 1
        name = msg.get("Action")
        action_id = msg.action_id
        if not name:
            session.reply(
                action_id,
                [[("Response", "Error"), ("Message", "Missing action in request")]],
            )
            return
        key = name.lower()
        entry = self._handlers.get(key)
        if not session.authenticated and key not in PRE_AUTH:
            session.reply(action_id, error_reply("Permission denied"))
            return
        if entry is None:
            session.reply(
                action_id,
                error_reply(
                    f"Invalid/unknown command: {name}. Use Action: ListCommands to show "
                    "available commands."
                ),
            )
            return
        handler, privilege = entry
        if privilege and not (privilege & session.write):
            session.reply(action_id, error_reply("Permission denied"))
            return
        try:
            frames = handler(session, msg)
        except Exception as exc:
            log.debug("action %s failed", name, exc_info=True)
            frames = error_reply(str(exc) or type(exc).__name__)
        if inspect.isawaitable(frames):
            if key in PRE_AUTH:  # login and logoff complete before the next action is read
                await self._finish(session, name, action_id, frames)
            else:  # other async handlers run concurrently: replies may come out of order
                session.spawn(self._finish(session, name, action_id, frames))
        elif frames:
            session.reply(action_id, frames)

    async def _finish(
        self, session: ServerSession, name: str, action_id: str | None, pending: Awaitable[Any]
    ) -> None:
        try:
            frames = await pending
        except asyncio.CancelledError:
            return
        except Exception as exc:
            log.debug("action %s failed", name, exc_info=True)
            frames = error_reply(str(exc) or type(exc).__name__)
        if frames and not self._silent:
            session.reply(action_id, frames)
