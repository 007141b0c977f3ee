"""What every live view shares: a ring buffer fed from any thread, counters, a throttle.

Strategy
--------
A view is fed in one of two ways:

* **live**: :meth:`LiveFeed.attach` subscribes to a client with ``thread="loop"``, so
  :meth:`LiveFeed.feed` runs on the client's own loop thread. That thread keeps running
  while a notebook cell blocks the kernel, which is what keeps the view moving during a
  long cell. ``feed`` therefore only appends to a bounded deque under a lock, bumps
  counters and pokes the throttle: no HTML, no widget traits, no waiting. Views that derive
  state from every message (the call board's tracker) queue them and digest the queue on
  the render thread (:meth:`LiveFeed._drain`), so the client's reader never pays for it.
* **recording**: a polars frame from :func:`amikit.load`; the view renders from the frame.

Rendering happens on the throttle's render thread (see :mod:`._throttle`). Widgets render
state; they never own the connection: closing a widget cancels its subscription and
nothing else.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from ..protocol import Message
from ._throttle import Throttle

__all__ = ["LiveFeed", "RateMeter", "frame_messages", "is_frame"]

# Messages queued for digestion before the feeding thread digests them itself.
_MAX_PENDING = 100_000


def is_frame(obj: object) -> bool:
    """True for a polars DataFrame or LazyFrame (without importing polars)."""
    mod = type(obj).__module__ or ""
    return mod.startswith("polars") and type(obj).__name__ in ("DataFrame", "LazyFrame")


def frame_messages(frame: Any) -> list[Message]:
    """Rows of an events frame back as :class:`Message` objects (time and seq kept)."""
    from ..record import message_pairs

    out: list[Message] = []
    for row in frame.iter_rows(named=True):
        pairs = list(message_pairs(row))
        if row.get("kind") == "gap":  # a recorded connection loss: show it as an event
            pairs.insert(0, ("Event", row.get("event") or "Gap"))
        try:
            msg = Message.from_pairs(pairs)
        except Exception:  # a value with a bare LF (pre-13.5 servers): keep it readable
            msg = Message.from_pairs(
                [(k, v.replace("\r", " ").replace("\n", " ")) for k, v in pairs]
            )
        msg.received_at = row.get("received_at") or row.get("timestamp")
        msg.seq = row.get("seq")
        msg.connection = row.get("connection")
        out.append(msg)
    return out


class RateMeter:
    """Events per second over a sliding window, from samples of a running count.

    The feeding path only increments a counter; the render thread samples it, so measuring
    the rate costs nothing per event.
    """

    def __init__(self, window: float = 5.0, now: float | None = None) -> None:
        self.window = window
        start = time.monotonic() if now is None else now
        self._samples: deque[tuple[float, int]] = deque([(start, 0)])

    def observe(self, count: int, now: float | None = None) -> float:
        """Record the running ``count`` at ``now``; return the rate over the window."""
        now = time.monotonic() if now is None else now
        samples = self._samples
        samples.append((now, count))
        # keep one sample at or before the window start as the baseline
        while len(samples) > 2 and samples[1][0] <= now - self.window:
            samples.popleft()
        base_time, base_count = samples[0]
        span = now - base_time
        return (count - base_count) / span if span > 0 else 0.0


class LiveFeed:
    """Mix-in: a bounded buffer of messages, counters, a client subscription, a throttle.

    Subclasses implement ``_render()`` and may override ``_accept(msg)`` (called under the
    lock for every fed message) to keep their own state.
    """

    _throttle: Throttle

    def _init_feed(self, *, buffer: int, rate: float, tick: float | None = None) -> None:
        if buffer < 1:
            raise ValueError("buffer must hold at least one message")
        self._lock = threading.RLock()
        self._buffer: deque[Message] = deque(maxlen=buffer)
        self._meter = RateMeter()
        self._rate = 0.0  # the last measured rate (render thread)
        self._subscriptions: list[Any] = []
        self._client: Any = None
        self._connection_note = ""
        self.received = 0
        # messages waiting to be digested into derived state (see _drain)
        self._pending: deque[Message] = deque()
        self._state_lock = threading.RLock()
        self._throttle = Throttle(self._render, rate=rate, tick=tick, wants_tick=self._wants_tick)

    # -- feeding ------------------------------------------------------------------------

    def feed(self, msg: Message) -> None:
        """Add one message (thread-safe and cheap; the view re-renders soon after)."""
        with self._lock:
            self._buffer.append(msg)
            self.received += 1
            self._accept(msg)
        self._throttle.poke()

    def extend(self, messages: Iterable[Message]) -> None:
        """Add many messages at once."""
        with self._lock:
            for msg in messages:
                self._buffer.append(msg)
                self.received += 1
                self._accept(msg)
        self._throttle.poke()

    def _accept(self, msg: Message) -> None:
        """Hook for subclasses: cheap per-message work on the feeding thread (under the lock).

        Views with derived state append to ``self._pending`` here and do the work in
        :meth:`_digest`, on the render thread.
        """

    def _digest(self, msg: Message) -> None:
        """Hook for subclasses: update derived state from one queued message."""

    def _drain(self) -> None:
        """Digest every queued message (render thread, or a caller reading the state)."""
        with self._state_lock:
            pending = self._pending
            while pending:
                self._digest(pending.popleft())

    def _queue(self, msg: Message) -> None:
        """Queue ``msg`` for :meth:`_digest`; digest inline if the render thread lags far."""
        self._pending.append(msg)
        if len(self._pending) > _MAX_PENDING:
            self._drain()

    def _wants_tick(self) -> bool:
        return self._rate > 0

    # -- client -------------------------------------------------------------------------

    def attach(self, client: Any, pattern: Any = "*") -> None:
        """Subscribe to ``client`` events matching ``pattern`` (see ``AMIClient.on``).

        The callback runs on the client's loop thread (``thread="loop"``), so the view keeps
        updating while a notebook cell blocks.
        """
        self._client = client
        try:
            sub = client.on(pattern, self.feed, thread="loop")
        except TypeError:  # a client without thread selection
            sub = client.on(pattern, self.feed)
        self._subscriptions.append(sub)
        on_connection = getattr(client, "on_connection", None)
        if on_connection is not None:
            handle = on_connection(self._on_connection)
            if handle is not None:
                self._subscriptions.append(handle)

    def _on_connection(self, event: Any) -> None:
        kind = getattr(event, "kind", str(event))
        self._connection_note = str(kind)
        self._throttle.poke()

    def detach(self) -> None:
        """Cancel the client subscription (the client itself stays connected)."""
        subs, self._subscriptions = getattr(self, "_subscriptions", []), []
        for sub in subs:
            cancel = getattr(sub, "cancel", None)
            if cancel is not None:
                cancel()

    @property
    def events_per_second(self) -> float:
        """Arrival rate over the last few seconds (as of the latest render)."""
        return self._rate

    def _measure_rate(self) -> float:
        """Sample the counter (render thread); keeps the view ticking while the rate decays."""
        self._rate = self._meter.observe(self.received)
        return self._rate

    @property
    def dropped(self) -> int:
        """Events the client had to drop for slow subscribers (0 without a client)."""
        stats = getattr(self._client, "stats", None)
        return int(getattr(stats, "dropped", 0) or 0)

    def flush(self) -> None:
        """Render now, in the calling thread."""
        self._throttle.flush()

    @property
    def renders(self) -> int:
        """How many times the view was drawn (throttled)."""
        return self._throttle.renders

    def _render(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _close_feed(self) -> None:
        self.detach()
        throttle = getattr(self, "_throttle", None)  # None if __init__ failed early
        if throttle is not None:
            throttle.close()
