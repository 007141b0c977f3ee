"""Throttled rendering for live widgets, on one shared render thread.

Strategy
--------
Events arrive on the client's loop thread (thousands per second); a browser is happy with
a few widget updates per second. So a widget never renders when an event arrives: the event
goes into a ring buffer and the widget *pokes* its :class:`Throttle`. The throttle coalesces
pokes and renders on the shared ``amikit-render`` daemon thread:

Rule 1: leading and trailing edge. A poke after a quiet period renders at once; pokes
        during the following ``interval`` collapse into one render at its end. So at most
        ``1 / interval`` renders per second (default 4), and the last event is always shown.
Rule 2: renders happen on the render thread, never on the client's loop thread (which must
        keep reading the socket) nor on the kernel's loop (which is blocked while a cell
        runs). Setting a widget trait from a thread is the documented ipywidgets pattern and
        measured to update JupyterLab live during a blocking cell (docs/threading.md §4).
Rule 3: a render that raises is counted and logged, never propagated: a bug in a view must
        not kill the render thread for every other widget.
Rule 4: ``tick`` re-renders periodically while ``wants_tick()`` says so (a call board's
        ticking durations) without any event arriving.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Throttle"]

log = logging.getLogger("amikit.jupyter")


class _RenderThread:
    """One daemon thread running due renders of every live throttle, earliest first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Throttle]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, throttle: Throttle, due: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), throttle))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="amikit-render", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                due, _, throttle = heapq.heappop(self._heap)
            throttle._fire(due)


_RENDERER = _RenderThread()


class Throttle:
    """Call ``render`` at most ``rate`` times per second, after :meth:`poke`.

    Parameters
    ----------
    render : callable
        Draws the view; runs on the ``amikit-render`` thread (or the caller's, for
        :meth:`flush`). Never runs twice at the same time.
    rate : float
        Maximum renders per second (default 4).
    tick : float or None
        If set, re-render every ``tick`` seconds while ``wants_tick()`` returns True.
    wants_tick : callable, optional
        Asked after each render whether to keep ticking.
    """

    def __init__(
        self,
        render: Callable[[], None],
        *,
        rate: float = 4.0,
        tick: float | None = None,
        wants_tick: Callable[[], bool] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 renders per second")
        self.interval = 1.0 / rate
        self._render = render
        self._tick = tick
        self._wants_tick = wants_tick
        self._lock = threading.Lock()  # guards _due / _last / _closed
        self._render_lock = threading.Lock()  # one render at a time
        self._due: float | None = None  # when the pending render runs, if one is pending
        self._poked = False  # a render requested by poke() is pending
        self._last = -1e9
        self._closed = False
        #: Number of renders done, and of renders that raised.
        self.renders = 0
        self.errors = 0
        self.last_error: BaseException | None = None
        #: Set after every render (tests wait on it instead of sleeping).
        self.rendered = threading.Event()

    def poke(self) -> None:
        """Ask for a render soon (thread-safe, cheap; coalesces with pending pokes)."""
        if self._poked:
            # Fast path (no lock): a render is already due and will read the state after
            # it clears this flag, so it includes whatever the caller just changed.
            return
        with self._lock:
            due = max(time.monotonic(), self._last + self.interval)
            if self._closed or (self._due is not None and self._due <= due):
                return
            self._due = due  # earlier than a pending tick: the tick entry goes stale
            self._poked = True
        _RENDERER.schedule(self, due)

    def _schedule_tick(self) -> None:
        if self._tick is None or self._wants_tick is None:
            return
        try:
            wanted = self._wants_tick()
        except Exception:  # a broken predicate must not stop the render thread
            log.exception("amikit widget tick predicate failed")
            return
        if not wanted:
            return
        with self._lock:
            if self._closed or self._due is not None:
                return
            due = max(time.monotonic() + self._tick, self._last + self.interval)
            self._due = due
        _RENDERER.schedule(self, due)

    def _fire(self, due: float) -> None:
        with self._lock:
            if self._closed or self._due != due:
                return  # closed, or a stale entry superseded by an earlier poke
            self._due = None
            self._poked = False  # before rendering: later pokes schedule the trailing render
            self._last = time.monotonic()
        self._do_render()
        self._schedule_tick()

    def _do_render(self) -> None:
        with self._render_lock:
            try:
                self._render()
            except Exception as exc:  # Rule 3
                self.errors += 1
                self.last_error = exc
                log.exception("amikit widget render failed")
            finally:
                self.renders += 1
                self.rendered.set()

    def flush(self) -> None:
        """Render now, in the calling thread (for tests and for a final state)."""
        with self._lock:
            self._last = time.monotonic()
        self._do_render()

    def close(self) -> None:
        """Stop rendering; pending renders are dropped."""
        with self._lock:
            self._closed = True
            self._poked = True  # pokes become no-ops
