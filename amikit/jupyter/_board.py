"""``CallBoard``: the calls in progress and the calls that just ended.

Strategy
--------
Which channels form a call and how a call ended (ANSWERED, NO ANSWER, BUSY, FAILED) are
decided by :class:`amikit.analysis.CallTracker`, the same rules :func:`amikit.analysis.calls`
applies to a recording, so the board and the batch analysis never disagree. The board adds
only what a wall display needs and a summary does not keep: the *current* state of each
channel (ringing, up, on hold, in a queue), and a clock, so durations tick every second
while calls are active even when no event arrives.

Finished calls move to a "recently finished" list (bounded) and are forgotten by the
tracker after a grace period, because late events for a hung-up channel do happen
(docs/protocol.md §3.4), so memory stays bounded on a PBX that runs for weeks.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

import ipywidgets as widgets

from ..protocol import Message
from ._html import STYLE, table
from ._live import LiveFeed, is_frame

__all__ = ["CallBoard"]

_STATE_COLORS = {
    "ringing": "#f0ad4e",
    "up": "#2e8b57",
    "on hold": "#6a5acd",
    "in queue": "#1e90ff",
    "dialling": "#999999",
}
_DISPOSITION_COLORS = {
    "ANSWERED": "#2e8b57",
    "NO ANSWER": "#f0ad4e",
    "BUSY": "#d9534f",
    "FAILED": "#b00000",
}
_GRACE = timedelta(seconds=30)


def _tracker_class() -> Any:
    try:
        from ..analysis import CallTracker
    except ImportError as exc:  # the analysis layer is part of amikit; say what is missing
        msg = "CallBoard needs amikit.analysis.CallTracker, which this installation lacks"
        raise ImportError(msg) from exc
    return CallTracker


def _badge(text: str, color: str) -> str:
    return (
        f"<span class='amikit-badge' style='background:{color};color:white'>{escape(text)}</span>"
    )


def _late(call: dict[str, Any]) -> str:
    """A note for a call that began before the board saw it (Rule 7 of the call rules)."""
    return " <span class='amikit-late'>joined late</span>" if call.get("joined_late") else ""


def _at_least(call: dict[str, Any]) -> str:
    # a call joined late began before its first event: its duration is a lower bound
    return "≥ " if call.get("joined_late") else ""


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    return (
        f"{seconds // 60}:{seconds % 60:02d}"
        if seconds < 3600
        else (f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}")
    )


class _ChannelState:
    __slots__ = ("hold", "queue", "ringing")

    def __init__(self) -> None:
        self.ringing = False
        self.hold = False
        self.queue = False


class CallBoard(widgets.VBox, LiveFeed):
    """Active calls with their state and a ticking duration; recently finished calls.

    Parameters
    ----------
    source : AMIClient, polars.DataFrame or None
        A client to follow live, a recording to replay into the board, or None to
        :meth:`feed` messages yourself.
    recent : int
        How many finished calls to list.
    rate : float
        Maximum renders per second (durations tick once a second regardless).
    """

    def __init__(
        self, source: Any = None, *, recent: int = 10, rate: float = 4.0, buffer: int = 1
    ) -> None:
        tracker_class = _tracker_class()  # fail before any widget exists
        self._status = widgets.HTML()
        self._active_html = widgets.HTML()
        self._finished_html = widgets.HTML()
        super().__init__([self._status, self._active_html, self._finished_html])
        self.add_class("amikit-callboard")
        self.tracker = tracker_class(on_call_end=self._call_ended)
        self._channels: dict[str, _ChannelState] = {}
        self._finished: deque[dict[str, Any]] = deque(maxlen=recent)
        self._ended_at: dict[str, datetime] = {}
        self._clock: datetime | None = None  # the recording's "now"; None = wall clock
        self.finished_total = 0
        self._init_feed(buffer=buffer, rate=rate, tick=1.0)
        if source is not None:
            if is_frame(source):
                self.show_frame(source)
            else:
                self.attach(source)
        self._throttle.flush()

    # -- state --------------------------------------------------------------------------

    def _call_ended(self, summary: dict[str, Any]) -> None:
        # a call can "end" twice: a call joined late may show a channel it already had
        # only after its other channels hung up; the newer summary replaces the older
        again = [c for c in self._finished if c["call_id"] == summary["call_id"]]
        for old in again:
            self._finished.remove(old)
        self._finished.appendleft(summary)
        self.finished_total += 0 if again else 1
        self._ended_at[summary["call_id"]] = self._now()

    def _accept(self, msg: Message) -> None:
        self._queue(msg)  # the tracker runs on the render thread, not the client's

    def _digest(self, msg: Message) -> None:
        self.tracker.feed(msg)
        self._update_channel(msg.name, msg.get)

    def _update_channel(self, name: str, get: Any) -> None:
        uid = get("Uniqueid")
        if name == "Hangup":
            self._channels.pop(uid or "", None)
            return
        if name in ("DialBegin", "DialState", "DialEnd"):
            dest = get("DestUniqueid")
            if dest:
                state = self._channels.setdefault(dest, _ChannelState())
                status = (get("DialStatus") or "").upper()
                state.ringing = name == "DialBegin" or status in ("RINGING", "PROGRESS")
            return
        if not uid:
            return
        state = self._channels.setdefault(uid, _ChannelState())
        if name in ("Newstate", "Newchannel"):
            desc = (get("ChannelStateDesc") or "").lower()
            state.ringing = desc in ("ring", "ringing")
        elif name == "Hold":
            state.hold = True
        elif name == "Unhold":
            state.hold = False
        elif name == "QueueCallerJoin":
            state.queue = True
        elif name in ("QueueCallerLeave", "QueueCallerAbandon"):
            state.queue = False

    def show_frame(self, frame: Any) -> None:
        """Replay a recording (polars frame of events) into the board."""
        if type(frame).__name__ == "LazyFrame":
            frame = frame.collect()
        self.detach()
        with self._state_lock:
            self._drain()
            last: datetime | None = None
            for row in frame.iter_rows(named=True):
                self.tracker.feed_row(row)
                self._update_channel(row.get("event") or "", row.get)
                self.received += 1
                last = row.get("timestamp") or row.get("received_at") or last
            self._clock = last
        self._throttle.poke()

    def _now(self) -> datetime:
        return self._clock or datetime.now(timezone.utc)

    def _wants_tick(self) -> bool:
        return self._clock is None and bool(self.tracker.active)

    def call_state(self, call_id: str, answered: bool = False) -> str:
        """``in queue``, ``on hold``, ``up``, ``ringing`` or ``dialling`` for an active call."""
        states = [s for uid, s in self._channels.items() if self.tracker.call_of(uid) == call_id]
        if any(s.queue for s in states):
            return "in queue"
        if any(s.hold for s in states):
            return "on hold"
        if answered:
            return "up"
        if any(s.ringing for s in states):
            return "ringing"
        return "dialling"

    def call_of(self, channel_id: str) -> str | None:
        """The call a channel (Uniqueid) belongs to, as the tracker sees it now."""
        with self._state_lock:
            self._drain()
            return self.tracker.call_of(channel_id)

    def active_calls(self) -> list[dict[str, Any]]:
        """Summaries of the calls in progress, each with its ``state`` added."""
        with self._state_lock:
            self._drain()
            active = set(self.tracker.active)
            rows = [s for s in self.tracker.summaries() if s["call_id"] in active]
            for row in rows:
                row["state"] = self.call_state(row["call_id"], bool(row.get("answered")))
        return rows

    def finished_calls(self) -> list[dict[str, Any]]:
        """Summaries of the most recently finished calls, newest first."""
        with self._state_lock:
            self._drain()
            return list(self._finished)

    def _forget_old(self) -> None:
        now = self._now()
        for call_id, ended in list(self._ended_at.items()):
            if now - ended > _GRACE:
                del self._ended_at[call_id]
                if call_id not in self.tracker.active:
                    self.tracker.forget(call_id)

    # -- rendering ----------------------------------------------------------------------

    def _render(self) -> None:
        with self._state_lock:
            self._drain()
            self._forget_old()
        active = self.active_calls()
        finished = self.finished_calls()
        now = self._now()
        rows = "".join(
            "<tr>"
            f"<td>{escape(str(c['call_id']))}</td>"
            f"<td>{_badge(c['state'], _STATE_COLORS.get(c['state'], '#999'))}"
            f"{_late(c)}</td>"
            f"<td>{escape(str(c.get('caller_num') or '?'))} → "
            f"{escape(str(c.get('dialed') or c.get('answered_by') or '?'))}</td>"
            f"<td class='amikit-duration'>{_at_least(c)}"
            f"{_fmt_duration((now - c['start']).total_seconds() if c.get('start') else None)}"
            "</td></tr>"
            for c in active
        )
        done = "".join(
            "<tr>"
            f"<td>{escape(str(c['call_id']))}</td>"
            f"<td>{_badge(c['disposition'], _DISPOSITION_COLORS.get(c['disposition'], '#999'))}"
            f"{_late(c)}</td>"
            f"<td>{escape(str(c.get('caller_num') or '?'))} → "
            f"{escape(str(c.get('dialed') or '?'))}</td>"
            f"<td>{escape(str(c.get('answered_by') or ''))}</td>"
            f"<td>{_at_least(c)}{_fmt_duration(c.get('duration'))}</td>"
            f"<td>{_fmt_duration(c.get('billsec'))}</td>"
            f"<td>{escape(str(c.get('hangup_cause_txt') or c.get('hangup_cause') or ''))}</td>"
            "</tr>"
            for c in finished
        )
        source = "recording" if self._clock is not None else "live"
        status = (
            f"<div class='amikit-status'>{source} · "
            f"<span class='amikit-active' data-n='{len(active)}'>{len(active)}</span> active · "
            f"{self.finished_total} finished · {self.received} events</div>"
        )
        with self.hold_sync():
            self._status.value = status
            self._active_html.value = (
                STYLE
                + "<b>Active calls</b>"
                + table(("call", "state", "caller → callee", "duration"), rows)
            )
            self._finished_html.value = "<b>Recently finished</b>" + table(
                (
                    "call",
                    "disposition",
                    "caller → dialled",
                    "answered by",
                    "duration",
                    "billsec",
                    "hangup cause",
                ),
                done,
            )

    def close(self) -> None:
        """Cancel the subscription and close the widget (the client stays connected)."""
        self._close_feed()
        super().close()

    def __repr__(self) -> str:
        return (
            f"<CallBoard active={len(self.tracker.active)} finished={self.finished_total} "
            f"events={self.received}>"
        )
