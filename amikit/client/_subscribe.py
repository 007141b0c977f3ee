"""Subscriptions: who gets which events, on which thread, and what happens when they lag.

Strategy
--------
The socket reader (on the amikit loop thread) must never wait for a consumer: Asterisk
drops a client that reads slower than its ``writetimeout`` (100 ms by default). So the
reader hands each decoded batch to every matching subscription with :meth:`Subscription.push`,
which only appends to that subscription's own queue and wakes its consumer; the consumer
runs elsewhere.

Where callbacks run (the rule):

``thread="loop"``
    Called directly by the reader on the amikit loop thread, in order, with no queue at all.
    For fast consumers (the recorder, counters). A slow callback here slows reading for every
    client of the process; a blocking amikit call here raises :class:`~amikit.UsageError`.
``thread="caller"``
    Delivered to the thread that called :meth:`~amikit.AMIClient.on`: if that thread runs an
    asyncio loop (a Jupyter kernel, an ``asyncio.run`` app), callbacks are scheduled on that
    loop with ``call_soon_threadsafe`` (so widget code runs where it belongs; while a cell
    blocks the kernel loop they queue up and run when it is free). A thread without a running
    loop (a plain script) gets a worker thread of its own for the subscription.

Queues and loss (``thread="caller"`` is lossless unless told otherwise: in a plain script a
worker thread's callback runs slower than the reader, and a flood must not silently cost it
events; iterators and ``lossless=False`` subscriptions are lossy):

* lossy: a bounded queue of ``maxsize`` (10,000) that drops the *oldest* message
  when full; every drop is counted (``sub.dropped`` and ``client.stats.dropped``).
* ``lossless=True``: nothing is dropped; a large buffer (``maxsize`` default 1,000,000) and,
  when it is full, back-pressure: the client pauses reading the socket until the consumer has
  drained half of it. (The recorder wants this; a live view wants the default.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fnmatch
import logging
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from .._exceptions import UsageError
from ..protocol import Message

if TYPE_CHECKING:
    from ._engine import ClientEngine

__all__ = ["Pattern", "Subscription", "make_matcher"]

log = logging.getLogger("amikit.client")
#: Longest single wait of a blocking event iteration (see ``EventStream.__next__``).
_WAIT_SLICE = 1.0

Pattern = str | Iterable[str] | Callable[[Message], bool]
Thread = Literal["loop", "caller"]

DEFAULT_MAXSIZE = 10_000
DEFAULT_LOSSLESS_MAXSIZE = 1_000_000
_UTC = timezone.utc


class _Matcher:
    """Which events a subscription wants: everything, a set of names/wildcards, or a predicate."""

    __slots__ = ("bnames", "bregex", "describe", "match_all", "names", "predicate", "regex")

    def __init__(self, pattern: Pattern) -> None:
        self.match_all = False
        self.names: frozenset[str] = frozenset()
        self.regex: re.Pattern[str] | None = None
        self.predicate: Callable[[Message], bool] | None = None
        self.bnames: frozenset[bytes] = frozenset()
        self.bregex: re.Pattern[bytes] | None = None
        if callable(pattern) and not isinstance(pattern, str):
            self.predicate = pattern
            self.describe = getattr(pattern, "__name__", "predicate")
            return
        items = [pattern] if isinstance(pattern, str) else list(pattern)
        if not items or not all(isinstance(p, str) for p in items):
            raise UsageError("pattern must be a name, a wildcard, a list of them or a predicate")
        self.describe = ",".join(items)
        if any(p.strip() == "*" for p in items):
            self.match_all = True
            return
        plain = {p.strip().lower() for p in items if not any(c in p for c in "*?[")}
        wild = [p.strip() for p in items if any(c in p for c in "*?[")]
        self.names = frozenset(plain)
        # the same names as bytes, as spelled and lower-cased: the reader matches the raw
        # "Event: <name>" bytes without decoding them (see ClientEngine.dispatch)
        self.bnames = frozenset(
            b
            for p in items
            if not any(c in p for c in "*?[")
            for b in (p.strip().encode(), p.strip().lower().encode())
        )
        if wild:
            source = "|".join(fnmatch.translate(w) for w in wild)
            self.regex = re.compile(source, flags=re.IGNORECASE)
            self.bregex = re.compile(source.encode(), flags=re.IGNORECASE)

    def wants_name(self, name: str) -> bool:
        if name.lower() in self.names:
            return True
        return self.regex is not None and self.regex.match(name) is not None

    def wants_bname(self, name: bytes) -> bool:
        """Like :meth:`wants_name` for the raw name bytes."""
        if name in self.bnames or name.lower() in self.bnames:
            return True
        return self.bregex is not None and self.bregex.match(name) is not None


def make_matcher(pattern: Pattern) -> _Matcher:
    """Compile a subscription pattern (exposed for the CLI's ``--events``)."""
    return _Matcher(pattern)


class Subscription:
    """A handle on one subscription; :meth:`cancel` ends it.

    Attributes
    ----------
    delivered : int
        Messages handed to the callback (or taken from the stream).
    dropped : int
        Messages dropped because the queue was full (lossy subscriptions only).
    lag : float
        Seconds between receipt and delivery of the last delivered message.
    """

    def __init__(
        self,
        engine: ClientEngine,
        pattern: Pattern,
        callback: Callable[[Message], Any] | None,
        *,
        mode: Literal["direct", "loop", "worker", "queue"],
        lossless: bool,
        maxsize: int | None,
        target_loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.matcher = _Matcher(pattern)
        self.callback = callback
        self.mode = mode
        self.lossless = lossless
        if maxsize is None:
            maxsize = DEFAULT_LOSSLESS_MAXSIZE if lossless else DEFAULT_MAXSIZE
        if maxsize < 1:
            raise UsageError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.delivered = 0
        self.dropped = 0
        self.lag = 0.0
        self.errors = 0
        self.cancelled = False
        self._engine = engine
        self._queue: deque[Message] = deque()
        self._blocked = False  # lossless and full: the engine paused reading for us
        self._scheduled = False
        self._target_loop = target_loop
        self._event = threading.Event()  # wakes a worker thread or a blocking iterator
        self._aevent: asyncio.Event | None = None  # wakes an async iterator
        self._thread: threading.Thread | None = None
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()
        if mode == "worker":
            self._thread = threading.Thread(
                target=self._work, name=f"amikit-sub[{self.matcher.describe}]", daemon=True
            )
            self._thread.start()
        else:
            self._done.set_result(None)

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled else self.mode
        return (
            f"<Subscription {self.matcher.describe!r} {state} delivered={self.delivered} "
            f"dropped={self.dropped}>"
        )

    @property
    def queued(self) -> int:
        """Messages waiting for the consumer."""
        return len(self._queue)

    # -- producer side (amikit loop thread) ---------------------------------------------

    def push(self, batch: list[Message]) -> None:
        """Take a batch of matching messages. Never blocks, never raises."""
        if self.mode == "direct":
            callback = self.callback
            assert callback is not None
            for msg in batch:
                try:
                    callback(msg)
                except Exception:
                    self._callback_failed()
            self.delivered += len(batch)
            if batch and batch[-1].received_at is not None:
                self.lag = (datetime.now(_UTC) - batch[-1].received_at).total_seconds()
            return
        queue = self._queue
        if self.lossless:
            queue.extend(batch)
            if len(queue) >= self.maxsize and not self._blocked:
                self._blocked = True
                self._engine.pause_reading(self)
        else:
            queue.extend(batch)
            over = len(queue) - self.maxsize
            if over > 0:
                # Drop the oldest ourselves and count only what we really removed, so the
                # count stays exact while the consumer pops concurrently.
                dropped = 0
                popleft = queue.popleft
                try:
                    for _ in range(over):
                        popleft()
                        dropped += 1
                except IndexError:
                    pass
                self.dropped += dropped
        self._wake()

    def _wake(self) -> None:
        mode = self.mode
        if mode == "worker" or mode == "queue":
            self._event.set()
            if self._aevent is not None and not self._scheduled:
                self._schedule(self._set_aevent)
        elif mode == "loop" and not self._scheduled:
            self._schedule(self._drain)

    def _schedule(self, fn: Callable[[], None]) -> None:
        self._scheduled = True
        loop = self._target_loop
        assert loop is not None
        try:
            loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the caller's loop is closed: nobody left to deliver to
            self._scheduled = False
            self.cancel()

    def _set_aevent(self) -> None:
        self._scheduled = False
        if self._aevent is not None:
            self._aevent.set()

    # -- consumer side ------------------------------------------------------------------

    def _drain(self) -> None:
        """Run the callback for everything queued (on the consumer's thread)."""
        self._scheduled = False
        queue = self._queue
        callback = self.callback
        assert callback is not None
        last = None
        n = 0
        while not self.cancelled:
            try:
                last = queue.popleft()
            except IndexError:
                break
            n += 1
            try:
                callback(last)
            except Exception:
                self._callback_failed()
        self._delivered(n, last)

    def _delivered(self, n: int, last: Message | None) -> None:
        if not n:
            return
        self.delivered += n
        if last is not None and last.received_at is not None:
            self.lag = (datetime.now(_UTC) - last.received_at).total_seconds()
        if self._blocked and len(self._queue) <= self.maxsize // 2:
            self._blocked = False
            self._engine.resume_reading(self)

    def _callback_failed(self) -> None:
        self.errors += 1
        log.exception("subscription %r: callback raised", self.matcher.describe)

    def _work(self) -> None:
        try:
            while not self.cancelled:
                self._event.wait()
                self._event.clear()
                self._drain()
        finally:
            self._done.set_result(None)

    def _pop(self) -> Message | None:
        """Take one message (iterators); None when empty."""
        try:
            msg = self._queue.popleft()
        except IndexError:
            return None
        self._delivered(1, msg)
        return msg

    # -- ending -------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop delivering. Safe to call from any thread, more than once.

        When it returns, the reader hands this subscription nothing more: a batch it was
        handing out at that moment has been handed out first (a ``thread="loop"`` callback
        has run for it). A worker thread finishes the callback it is running and exits.
        """
        if self.cancelled:
            return
        self.cancelled = True
        self._engine.remove_subscription(self)
        self._engine.settle()
        self._event.set()
        if self._aevent is not None and self._target_loop is not None:
            try:
                self._target_loop.call_soon_threadsafe(self._aevent.set)
            except RuntimeError:
                pass
        if self._blocked:
            self._blocked = False
            self._engine.resume_reading(self)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker thread (if any) to finish; True when it has."""
        if self._thread is None or self._thread is threading.current_thread():
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    async def ajoin(self, timeout: float | None = None) -> bool:
        """Awaitable :meth:`join`: True when the worker thread (if any) has finished."""
        if self._thread is None or self._thread is threading.current_thread():
            return True
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._done)), timeout)
        except asyncio.TimeoutError:  # a callback still running: as join(), not an error
            return False
        return True


class EventStream:
    """A blocking iterator over events (``client.events(...)``); also a context manager.

    Iteration ends when no event arrives for ``timeout`` seconds (None: wait as long as the
    client is open), when the stream is closed, or when the client closes.
    """

    def __init__(self, sub: Subscription, timeout: float | None) -> None:
        self._sub = sub
        self.timeout = timeout

    @property
    def subscription(self) -> Subscription:
        """The underlying subscription (counters: delivered, dropped, lag)."""
        return self._sub

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> Message:
        import time

        sub = self._sub
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            msg = sub._pop()
            if msg is not None:
                return msg
            if sub.cancelled:
                raise StopIteration
            if deadline is None:
                # in slices: an untimed wait is not woken by Ctrl-C once polars (imported
                # by amikit.load and the analysis) has installed its SIGINT handler
                sub._event.wait(_WAIT_SLICE)
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StopIteration
                sub._event.wait(remaining)
            sub._event.clear()

    def close(self) -> None:
        """End the stream and its subscription."""
        self._sub.cancel()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncEventStream:
    """An async iterator over events (``client.aevents(...)``); also an async context manager.

    Bound to the loop that created it. Iteration ends after ``timeout`` idle seconds (None:
    never), on :meth:`aclose`, or when the client closes. Prefer ``async with`` so that
    leaving the loop early also ends the subscription.
    """

    def __init__(self, sub: Subscription, timeout: float | None) -> None:
        self._sub = sub
        self.timeout = timeout
        sub._aevent = asyncio.Event()

    @property
    def subscription(self) -> Subscription:
        """The underlying subscription (counters: delivered, dropped, lag)."""
        return self._sub

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> Message:
        sub = self._sub
        aevent = sub._aevent
        assert aevent is not None
        while True:
            msg = sub._pop()
            if msg is not None:
                return msg
            if sub.cancelled:
                raise StopAsyncIteration
            aevent.clear()
            if sub._queue:
                continue
            try:
                await asyncio.wait_for(aevent.wait(), self.timeout)
            except asyncio.TimeoutError:
                raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """End the stream and its subscription."""
        self._sub.cancel()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
