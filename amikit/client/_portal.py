"""The one private event loop that runs every client of the process.

Strategy
--------
All protocol state (sockets, parsers, pending ActionIDs, timers) lives on a single asyncio
loop running in a single daemon thread, ``amikit-loop``, started on first use and shared by
every :class:`~amikit.AMIClient`. This module is the only place that starts it.

Two faces reach it:

* :meth:`Portal.call` (sync): ``run_coroutine_threadsafe(...).result(timeout)``. Called from
  the loop thread itself it raises :class:`~amikit.UsageError` instead of deadlocking; a
  ``KeyboardInterrupt`` (Ctrl-C, a Jupyter kernel interrupt) or any other exception while
  waiting cancels the coroutine on the loop and is re-raised.
* :meth:`Portal.acall` (async): ``await asyncio.wrap_future(...)`` from any *other* loop (a
  Jupyter kernel's, an ``asyncio.run`` app's); cancelling the awaiting task cancels the work.
  Awaited on the portal loop itself, the coroutine is simply awaited.

Why not nest-asyncio: it patches the running loop so ``run_until_complete`` can re-enter it.
The project is archived, hangs "Run All" under ipykernel 7 and breaks on Python 3.14; a
loop of our own in a thread needs no patching and works the same in a script, inside
``asyncio.run`` and in any Jupyter kernel.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .._exceptions import AmiTimeout, UsageError
from .._loop_thread import LoopThread

__all__ = ["Portal", "get_portal"]

T = TypeVar("T")

_lock = threading.Lock()
_portal: Portal | None = None


class Portal:
    """A daemon thread running an asyncio loop, and the two ways to run coroutines on it."""

    def __init__(self) -> None:
        self._runner = LoopThread("amikit-loop")
        self.loop = self._runner.loop
        self.thread = self._runner.thread

    def in_loop_thread(self) -> bool:
        """True when called from the portal's own thread."""
        return self._runner.in_thread()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; returns a thread-safe future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def _cancel(self, job: _Job) -> None:
        # concurrent.futures.Future.cancel() is refused once the work runs, so cancel the
        # asyncio task itself, on its loop.
        try:
            self.loop.call_soon_threadsafe(job.cancel)
        except RuntimeError:  # loop already closed (interpreter exit)
            pass

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        """Run ``coro`` on the loop and block until it is done (the sync face).

        Parameters
        ----------
        coro : coroutine
            Work to run on the loop. It should enforce its own deadline; ``timeout`` here is
            the backstop.
        timeout : float or None
            Seconds to wait before cancelling the work and raising :class:`AmiTimeout`.

        Raises
        ------
        UsageError
            Called from the loop thread (e.g. inside a ``thread="loop"`` callback), where
            blocking would deadlock. Use the ``a...`` method there instead.
        """
        if self.in_loop_thread():
            coro.close()
            raise UsageError(
                "a blocking amikit call was made on the amikit loop thread (from a "
                "thread='loop' callback?); it would deadlock. Use the awaitable twin "
                "(aaction, acommand, ...) from a task, or subscribe with thread='caller'."
            )
        job = _Job()
        future = None
        try:  # an interrupt may land anywhere from here on, even before submit() returns
            future = self.submit(job.run(coro))
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            if future is not None and future.done():  # the work's own timeout: keep it
                raise
            self._cancel(job)
            raise AmiTimeout(f"no result within {timeout} s") from None
        except BaseException:  # KeyboardInterrupt / kernel interrupt: stop the work too
            self._cancel(job)
            raise

    async def acall(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and await it from the caller's loop (the async face)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            return await coro
        job = _Job()
        try:
            return await asyncio.wrap_future(self.submit(job.run(coro)))
        except asyncio.CancelledError:
            self._cancel(job)
            raise

    def shutdown(self, timeout: float = 2.0) -> None:
        """Cancel what still runs on the loop and stop the thread (used at exit)."""
        if not self.thread.is_alive() or self.in_loop_thread():
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.submit(_cancel_all()).result(timeout)
        except BaseException:
            pass
        self._runner.stop(timeout)


class _Job:
    """The asyncio task of one portal call, so that another thread can cancel it."""

    __slots__ = ("cancelled", "task")

    def __init__(self) -> None:
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.cancelled:  # cancelled before it even started
            coro.close()
            raise asyncio.CancelledError
        self.task = asyncio.current_task()
        return await coro

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()


def get_portal() -> Portal:
    """The process-wide portal, started on first use."""
    global _portal
    portal = _portal
    if portal is not None and portal.thread.is_alive():
        return portal
    with _lock:
        if _portal is None or not _portal.thread.is_alive():
            _portal = Portal()
        return _portal


@atexit.register
def _stop_at_exit() -> None:
    if _portal is not None:
        _portal.shutdown()
