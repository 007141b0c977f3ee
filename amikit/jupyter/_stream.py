"""``EventStream``: the live table of recent AMI events.

Layout: a toolbar (filter box, "hide noise", pause/resume, clear), a status line (received,
shown, noise hidden, events/s, dropped, connection state) and a table of the newest
matching events, newest first. Hovering an event name shows what it means
(:func:`amikit.explain`); clicking a row's summary unfolds every field, each explained on
hover. The table is plain HTML (no JavaScript), re-rendered at most 4 times a second.

The same widget shows a recording: ``EventStream(amikit.load(path))`` filters the whole
frame with the same filter rules as polars expressions and shows its newest rows.
"""

from __future__ import annotations

from html import escape
from typing import Any

import ipywidgets as widgets
import traitlets

from ..protocol import Message
from ._filter import EventFilter
from ._html import STYLE, message_row_html, table
from ._live import LiveFeed, frame_messages, is_frame
from ._noise import is_noise, noise_patterns

__all__ = ["EventStream"]

_PLACEHOLDER = "filter: Dial* Hangup -VarSet 6001"


class EventStream(widgets.VBox, LiveFeed):
    """Recent AMI events as a live table with a filter box, noise toggle and pause.

    Parameters
    ----------
    source : AMIClient, polars.DataFrame or None
        A connected client to follow live, a recording (from :func:`amikit.load`) to show,
        or None to feed messages yourself with :meth:`feed`.
    pattern : str, list or callable
        Which client events to subscribe to (as ``AMIClient.on``); default all.
    rows : int
        How many of the newest matching events the table shows.
    buffer : int
        How many recent events are kept (ring buffer) for filtering and pausing.
    rate : float
        Maximum renders per second.
    hide_noise : bool
        Start with noise (VarSet, Newexten, RTCP, ...) hidden.
    filter : str
        Initial filter text (see :mod:`amikit.jupyter._filter` for the rules).

    Examples
    --------
    >>> from amikit import Message
    >>> stream = EventStream()
    >>> stream.feed(Message.from_pairs([("Event", "Hangup"), ("Channel", "PJSIP/100-01")]))
    >>> stream.received
    1
    """

    filter_text = traitlets.Unicode("", help="The filter box text.")
    hide_noise = traitlets.Bool(True, help="Hide VarSet, Newexten, RTCP and other noise.")
    paused = traitlets.Bool(False, help="Freeze the table; events keep being counted.")

    def __init__(
        self,
        source: Any = None,
        *,
        pattern: Any = "*",
        rows: int = 25,
        buffer: int = 2000,
        rate: float = 4.0,
        hide_noise: bool = True,
        filter: str = "",
    ) -> None:
        self._filter_box = widgets.Text(
            value=filter, placeholder=_PLACEHOLDER, continuous_update=True,
            layout=widgets.Layout(width="22em"),
        )  # fmt: skip
        self._noise_box = widgets.Checkbox(value=hide_noise, description="hide noise", indent=False)
        self._pause_button = widgets.ToggleButton(value=False, description="pause", icon="pause")
        self._clear_button = widgets.Button(description="clear", icon="trash")
        self._status = widgets.HTML()
        self._table = widgets.HTML()
        toolbar = widgets.HBox(
            [self._filter_box, self._noise_box, self._pause_button, self._clear_button]
        )
        super().__init__([toolbar, self._status, self._table])
        self.add_class("amikit-eventstream")
        self.rows = rows
        self._frame: Any = None
        self._frozen: list[Message] | None = None
        self._frozen_at = 0
        self._window_noise = 0
        self._filter = EventFilter.parse(filter)
        self.shown = 0
        self.noise_hidden = 0
        self._init_feed(buffer=buffer, rate=rate, tick=1.0)
        self.filter_text = filter
        self.hide_noise = hide_noise
        traitlets.link((self._filter_box, "value"), (self, "filter_text"))
        traitlets.link((self._noise_box, "value"), (self, "hide_noise"))
        traitlets.link((self._pause_button, "value"), (self, "paused"))
        self._clear_button.on_click(lambda _button: self.clear())
        if source is not None:
            if is_frame(source):
                self.show_frame(source)
            else:
                self.attach(source, pattern)
        self._throttle.flush()

    # -- state --------------------------------------------------------------------------

    @traitlets.observe("filter_text")
    def _filter_changed(self, change: dict[str, Any]) -> None:
        self._filter = EventFilter.parse(change["new"])
        self._throttle.poke()

    @traitlets.observe("hide_noise")
    def _noise_changed(self, change: dict[str, Any]) -> None:
        self._throttle.poke()

    @traitlets.observe("paused")
    def _paused_changed(self, change: dict[str, Any]) -> None:
        with self._lock:
            if change["new"]:
                self._frozen = list(self._buffer)
                self._frozen_at = self.received
            else:
                self._frozen = None
        self._pause_button.description = "resume" if change["new"] else "pause"
        self._pause_button.icon = "play" if change["new"] else "pause"
        self._throttle.poke()

    def pause(self) -> None:
        """Freeze the table (events keep arriving and being counted)."""
        self.paused = True

    def resume(self) -> None:
        """Show live events again."""
        self.paused = False

    def clear(self) -> None:
        """Forget the buffered events and reset the counters."""
        with self._lock:
            self._buffer.clear()
            self.received = 0
            if self._frozen is not None:
                self._frozen = []
                self._frozen_at = 0
        self._throttle.poke()

    def show_frame(self, frame: Any) -> None:
        """Show a recording (a polars DataFrame or LazyFrame of events) instead of live data."""
        if type(frame).__name__ == "LazyFrame":
            frame = frame.collect()
        self.detach()
        with self._lock:
            self._frame = frame
            self._buffer.clear()
            self.received = frame.height
        self._throttle.poke()

    def messages(self) -> list[Message]:
        """The buffered messages that pass the current filter and noise setting, oldest first."""
        return list(reversed(self._matching(limit=None)))

    # -- rendering ----------------------------------------------------------------------

    def _visible(self, msg: Message) -> bool:
        if self.hide_noise and is_noise(msg.name):
            return False
        return self._filter.matches(msg)

    def _matching(self, limit: int | None) -> list[Message]:
        """Newest-first messages passing the filter (from the live buffer or the frame)."""
        if self._frame is not None:
            return self._frame_matching(limit)
        with self._lock:
            source = self._frozen if self._frozen is not None else list(self._buffer)
        out: list[Message] = []
        noise = 0
        hide = self.hide_noise
        for msg in reversed(source):
            name = msg.name
            if is_noise(name):
                noise += 1
                if hide:
                    continue
            if (limit is None or len(out) < limit) and self._filter.matches(msg):
                out.append(msg)
        self._window_noise = noise
        return out

    def _frame_matching(self, limit: int | None) -> list[Message]:
        import polars as pl

        frame = self._frame
        cond = self._filter.expr(frame.columns)
        if self.hide_noise and "event" in frame.columns:
            regex = "(?i)^(?:" + "|".join(p.replace("*", ".*") for p in noise_patterns()) + ")$"
            cond = cond & ~pl.col("event").fill_null("").str.contains(regex)
        matched = frame.filter(cond)
        self._frame_shown = matched.height
        tail = matched if limit is None else matched.tail(limit)
        return list(reversed(frame_messages(tail)))

    def _render(self) -> None:
        rows = self._matching(self.rows)
        with self._lock:
            received, paused = self.received, self._frozen is not None
            new_since = received - self._frozen_at if paused else 0
        rate = self._measure_rate()
        self.noise_hidden = self._window_noise if self.hide_noise else 0
        if self._frame is not None:
            self.shown = getattr(self, "_frame_shown", len(rows))
        else:
            self.shown = len(rows)
        # Unfoldable rows (every field, explained) when the table holds still: paused or a
        # recording. Live, the rows move on before anyone could click, and the payload stays
        # small (a few KiB per update).
        details = paused or self._frame is not None
        body = "".join(message_row_html(m, details=details) for m in rows)
        window = (
            "in the recording"
            if self._frame is not None
            else f"in the last {len(self._buffer):,} events"
        )
        parts = [
            f"<span class='amikit-count' data-n='{received}'>{received}</span> received",
            f"{self.shown} shown" + (" (latest)" if self.shown >= self.rows else ""),
            f"{self._window_noise} noise{' hidden' if self.hide_noise else ''} ({window})",
        ]
        if self._frame is None:
            parts.append(f"<span class='amikit-rate'>{rate:.1f}</span> events/s")
            if self.dropped:
                parts.append(f"<b style='color:#b00'>{self.dropped} dropped</b>")
        if paused:
            parts.append(f"<b>paused</b> ({new_since} new); click a row for every field")
        if self._connection_note:
            parts.append(escape(self._connection_note))
        status = f"<div class='amikit-status'>{' · '.join(parts)}</div>"
        html = STYLE + table(("seq", "time", "event", "channel", "details"), body)
        with self.hold_sync():
            self._status.value = status
            self._table.value = html

    # -- display ------------------------------------------------------------------------

    def close(self) -> None:
        """Cancel the subscription and close the widget (the client stays connected)."""
        self._close_feed()
        super().close()

    def __repr__(self) -> str:  # cheap: never serialises widget state
        return (
            f"<EventStream received={self.received} shown={self.shown} "
            f"paused={self.paused} filter={self.filter_text!r}>"
        )
