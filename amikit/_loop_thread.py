"""An asyncio loop running forever in a daemon thread of its own.

The client's portal (``amikit-loop``, shared by every client) and each simulated server
(``amikit-sim-server``) run on one of these; this is the only code that starts such a thread.
"""

from __future__ import annotations

import asyncio
import threading

__all__ = ["LoopThread"]


class LoopThread:
    """Start ``loop.run_forever()`` in a daemon thread named ``name``; ready on return."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), name=name, daemon=True)
        self.thread.start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.set)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def in_thread(self) -> bool:
        """True when called from the loop's own thread."""
        return threading.current_thread() is self.thread

    def stop(self, timeout: float) -> None:
        """Stop the loop (it closes itself) and wait up to ``timeout`` s for the thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
