"""``CallLadder``: the ladder (sequence) diagram of one call, growing while the call runs.

Strategy
--------
The diagram itself is :func:`amikit.analysis.ladder` (an SVG, no JavaScript), drawn from a
small frame of the chosen call's events; this widget only decides *which* events and
*when* to redraw. Live, a :class:`amikit.analysis.CallTracker` tags every message with its
call as it arrives (on the client's thread); a ring buffer keeps the recent messages; at
render time the messages of the chosen call are selected (resolving call ids that merged
since, e.g. after a transfer) and the ladder is redrawn, at most ``rate`` times a second.
A dropdown picks the call; by default the view follows the newest active call.

On a recording the frame is used directly: ``CallLadder(amikit.load(path), call_id)``.
Without the analysis layer's ``ladder`` the widget shows the call's events as a table.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from html import escape
from typing import Any

import ipywidgets as widgets
import traitlets

from ..protocol import Message
from ._html import STYLE, fmt_time, one_line, table
from ._live import LiveFeed, frame_messages, is_frame

__all__ = ["CallLadder"]

_FOLLOW = "(follow the newest call)"


def _render_ladder(frame: Any, call_id: str) -> str | None:
    """SVG/HTML of analysis.ladder for ``call_id``, or None if that function is missing."""
    try:
        from ..analysis import ladder
    except ImportError:
        return None
    drawing = ladder(frame, call_id)
    for method in ("_repr_html_", "_repr_svg_"):
        render = getattr(drawing, method, None)
        if render is not None:
            out = render()
            if out:
                return str(out)
    return f"<pre>{escape(str(drawing))}</pre>"


class CallLadder(widgets.VBox, LiveFeed):
    """The ladder diagram of a chosen call, updated live while the call is in progress.

    Parameters
    ----------
    source : AMIClient, polars.DataFrame or None
        A client to follow live, a recording, or None to :meth:`feed` messages yourself.
    call_id : str, optional
        The call to draw; by default the newest active call is followed.
    buffer : int
        How many recent messages are kept to draw from (ring buffer).
    rate : float
        Maximum redraws per second.
    """

    call_id = traitlets.Unicode(None, allow_none=True, help="The call drawn (None: follow).")

    def __init__(
        self,
        source: Any = None,
        call_id: str | None = None,
        *,
        buffer: int = 5000,
        rate: float = 4.0,
    ) -> None:
        from ..analysis import CallTracker  # fail before any widget exists

        self._picker = widgets.Dropdown(options=[(_FOLLOW, "")], value="", description="call")
        self._status = widgets.HTML()
        self._drawing = widgets.HTML()
        super().__init__([self._picker, self._status, self._drawing])
        self.add_class("amikit-callladder")
        self.tracker = CallTracker()
        self._tagged: deque[tuple[Message, str | None]] = deque(maxlen=buffer)
        self._frame: Any = None
        self._frame_calls: list[str] = []
        self._init_feed(buffer=1, rate=rate)
        self.call_id = call_id
        self._picker.observe(self._picked, names="value")
        if source is not None:
            if is_frame(source):
                self.show_frame(source, call_id)
            else:
                self.attach(source)
        self._throttle.flush()

    def _picked(self, change: dict[str, Any]) -> None:
        self.call_id = change["new"] or None

    @traitlets.observe("call_id")
    def _call_changed(self, change: dict[str, Any]) -> None:
        self._throttle.poke()

    def _accept(self, msg: Message) -> None:
        self._queue(msg)  # the tracker runs on the render thread, not the client's

    def _digest(self, msg: Message) -> None:
        self._tagged.append((msg, self.tracker.feed(msg)))

    def show_frame(self, frame: Any, call_id: str | None = None) -> None:
        """Draw calls of a recording (polars frame of events)."""
        from ..analysis import calls

        if type(frame).__name__ == "LazyFrame":
            frame = frame.collect()
        self.detach()
        with self._lock:
            self._frame = frame
            self.received = frame.height
            self._frame_calls = [str(c) for c in calls(frame).get_column("call_id")]
        if call_id is None and self._frame_calls:
            call_id = self._frame_calls[0]
        self.call_id = call_id
        self._throttle.poke()

    # -- selection ----------------------------------------------------------------------

    def _resolve(self, call_id: str | None) -> str | None:
        if call_id is None:
            return None
        return self.tracker.call_of(call_id) or call_id

    def current_call(self) -> str | None:
        """The call being drawn: the chosen one, or the newest active call when following."""
        if self.call_id:
            return self._resolve(self.call_id) if self._frame is None else self.call_id
        if self._frame is not None:
            return self._frame_calls[0] if self._frame_calls else None
        with self._state_lock:
            self._drain()
            active = list(self.tracker.active)
            if active:
                return active[-1]
            for _msg, cid in reversed(self._tagged):
                if cid is not None:
                    return self._resolve(cid)
        return None

    def messages(self, call_id: str | None = None) -> list[Message]:
        """The buffered messages of a call (default: the current one), in arrival order."""
        target = call_id or self.current_call()
        if target is None:
            return []
        if self._frame is not None:
            import polars as pl

            from ..analysis import with_call_id

            sub = with_call_id(self._frame).filter(pl.col("call_id") == target)
            return frame_messages(sub)
        with self._state_lock:
            self._drain()
            cache: dict[str, str | None] = {}
            out = []
            for msg, cid in self._tagged:
                if cid is None:
                    continue
                if cid not in cache:
                    cache[cid] = self._resolve(cid)
                if cache[cid] == target:
                    out.append(msg)
        return out

    def _call_options(self) -> list[tuple[str, str]]:
        options = [(_FOLLOW, "")]
        ids: Sequence[str | None]
        if self._frame is not None:
            ids = self._frame_calls
        else:
            with self._state_lock:
                ids = list(dict.fromkeys(
                    self._resolve(cid) for _m, cid in reversed(self._tagged) if cid
                ))[:30]  # fmt: skip
        options += [(str(i), str(i)) for i in ids if i]
        if self.call_id and all(v != self.call_id for _l, v in options):
            options.append((self.call_id, self.call_id))
        return options

    # -- rendering ----------------------------------------------------------------------

    def _render(self) -> None:
        target = self.current_call()
        options = self._call_options()
        if target is None:
            body = "<i>no call yet</i>"
            n = 0
        else:
            if self._frame is not None:
                frame = self._frame
                n = -1
            else:
                from ..record import message_row, rows_to_frame

                msgs = self.messages(target)
                n = len(msgs)
                frame = rows_to_frame(message_row(m) for m in msgs)
            drawing = _render_ladder(frame, target) if (n != 0) else None
            if drawing is None:
                msgs = self.messages(target) if n == -1 else msgs
                n = len(msgs)
                rows = "".join(
                    f"<tr><td>{fmt_time(m.received_at)}</td><td>{escape(m.get('Channel') or '')}"
                    f"</td><td><b>{escape(m.name)}</b></td><td>{escape(one_line(m))}</td></tr>"
                    for m in msgs
                )
                drawing = table(("time", "channel", "event", "details"), rows)
            body = drawing
        with self._state_lock:
            live = " · live" if target in set(self.tracker.active) else ""
        status = (
            f"<div class='amikit-status'>call <b>{escape(str(target))}</b>{live} · "
            f"<span class='amikit-ladder-events' data-n='{max(n, 0)}'>"
            f"{max(n, 0) if n >= 0 else 'all'}</span> events</div>"
        )
        with self.hold_sync():
            if [tuple(o) for o in self._picker.options] != options:
                current = self._picker.value
                self._picker.options = options
                self._picker.value = current if any(v == current for _l, v in options) else ""
            self._status.value = status
            self._drawing.value = STYLE + body

    def close(self) -> None:
        """Cancel the subscription and close the widget (the client stays connected)."""
        self._close_feed()
        super().close()

    def __repr__(self) -> str:
        return f"<CallLadder call={self.current_call()!r} events={self.received}>"
