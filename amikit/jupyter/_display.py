"""Rich display of amikit's frames: events, calls, one call, a timeline.

Strategy
--------
amikit's results are plain polars frames (that is what makes them composable), so they
cannot carry their own ``_repr_html_``. Instead, :func:`enable` registers IPython display
formatters for ``polars.DataFrame`` that recognise amikit's layouts by their columns and
render them for people; any other frame falls through to polars' own rendering:

* an **events** frame (``event``, ``kind``, ``extra``): time, event (hover: what it
  means), channel and the few fields that matter, noise greyed;
* a **calls** frame (``call_id``, ``disposition``, ``answered``): one line per call with a
  coloured disposition; a single call shows as a card;
* a **timeline** (``offset``, ``who``, ``text``): the call's story, one sentence per event.

Each has an HTML form (notebooks) and a plain-text form (IPython in a terminal).
:class:`~amikit.Message` renders itself as HTML; in a terminal it prints as its
``Key: Value`` lines (secrets masked). ``%load_ext amikit`` calls :func:`enable`.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from ..protocol import Message
from ._explain import explain
from ._html import STYLE, fmt_time, one_line
from ._live import frame_messages
from ._noise import is_noise

__all__ = ["calls_html", "calls_text", "enable", "events_html", "events_text", "frame_kind"]

MAX_ROWS = 60
_DISPOSITION_COLORS = {
    "ANSWERED": "#2e8b57",
    "NO ANSWER": "#e69500",
    "BUSY": "#d9534f",
    "FAILED": "#b00000",
}


def frame_kind(frame: Any) -> str | None:
    """``"events"``, ``"calls"``, ``"timeline"`` or None for a frame amikit did not make."""
    cols = set(getattr(frame, "columns", ()))
    if {"offset", "who", "text"} <= cols:
        return "timeline"
    if {"call_id", "disposition", "answered"} <= cols:
        return "calls"
    if {"event", "kind", "extra"} <= cols:
        return "events"
    return None


def _more(height: int, shown: int) -> str:
    return (
        f"<div class='amikit-status'>{height} rows; first {shown} shown</div>"
        if (height > shown)
        else f"<div class='amikit-status'>{height} rows</div>"
    )


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# -- events ------------------------------------------------------------------------------


def events_html(frame: Any, max_rows: int = MAX_ROWS) -> str:
    """An events frame as an HTML table (hover an event name for its meaning)."""
    messages = frame_messages(frame.head(max_rows))
    rows = "".join(
        f"<tr class='amikit-row{' amikit-noise' if is_noise(m.name) else ''}'>"
        f"<td>{fmt_time(m.received_at)}</td>"
        f"<td title='{escape(explain(m.name).summary, quote=True)}'><b>{escape(m.name)}</b></td>"
        f"<td>{escape(m.get('Channel') or '')}</td><td>{escape(one_line(m))}</td></tr>"
        for m in messages
    )
    head = "<tr><th>time</th><th>event</th><th>channel</th><th>fields</th></tr>"
    return (
        f"{STYLE}<div class='amikit-events'><table class='amikit-tbl'>{head}{rows}</table>"
        f"{_more(frame.height, len(messages))}</div>"
    )


def events_text(frame: Any, max_rows: int = MAX_ROWS) -> str:
    """An events frame as aligned text lines."""
    messages = frame_messages(frame.head(max_rows))
    lines = [
        f"{fmt_time(m.received_at):12}  {m.name:22.22}  {(m.get('Channel') or ''):32.32}  "
        f"{one_line(m)}".rstrip()
        for m in messages
    ]
    lines.append(f"({frame.height} events{'' if frame.height <= max_rows else ', first shown'})")
    return "\n".join(lines)


# -- calls -------------------------------------------------------------------------------


def _badge(call: dict[str, Any]) -> str:
    """The call's outcome: its disposition, or "in progress" / "joined late" (Rule 7)."""
    from ..analysis import outcome_text

    color = _DISPOSITION_COLORS.get(call.get("disposition") or "", "#777")
    if call.get("in_progress"):
        color = "#4a6fa5"
    return (
        f"<span class='amikit-badge' style='background:{color};color:white'>"
        f"{escape(outcome_text(call))}</span>"
    )


_CALL_COLUMNS = (
    ("call_id", "call"),
    ("start", "start"),
    ("caller_num", "caller"),
    ("dialed", "dialled"),
    ("answered_by", "answered by"),
    ("duration", "duration s"),
    ("billsec", "billsec"),
    ("hangup_cause_txt", "hangup cause"),
)


def _call_card(call: dict[str, Any]) -> str:
    facts = [
        ("caller", f"{_fmt(call.get('caller_num'))} {_fmt(call.get('caller_name'))}".strip()),
        ("dialled", _fmt(call.get("dialed"))),
        ("answered by", _fmt(call.get("answered_by"))),
        ("start", _fmt(call.get("start"))),
        ("answer", _fmt(call.get("answer"))),
        ("end", _fmt(call.get("end"))),
        ("ring time s", _fmt(call.get("ring_time"))),
        ("duration s", _fmt(call.get("duration"))),
        ("billsec", _fmt(call.get("billsec"))),
        ("hangup", f"{_fmt(call.get('hangup_cause_txt'))} ({_fmt(call.get('hangup_cause'))})"),
        ("hung up by", _fmt(call.get("hangup_by"))),
        ("channels", _fmt(call.get("channels"))),
        ("transfers", _fmt(call.get("transfers"))),
        ("queue", _fmt(call.get("queue"))),
    ]
    rows = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts if v.strip("() ")
    )
    return (
        f"{STYLE}<div class='amikit-call'><b>call {escape(_fmt(call.get('call_id')))}</b> "
        f"{_badge(call)}<table class='amikit-tbl'>{rows}</table></div>"
    )


def calls_html(frame: Any, max_rows: int = MAX_ROWS) -> str:
    """A calls frame as an HTML table with coloured dispositions; one call as a card."""
    if frame.height == 1:
        return _call_card(frame.row(0, named=True))
    cols = [(c, label) for c, label in _CALL_COLUMNS if c in frame.columns]
    head = "".join(f"<th>{escape(label)}</th>" for _c, label in cols) + "<th>disposition</th>"
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape(_fmt(row.get(c)))}</td>" for c, _l in cols)
        + f"<td>{_badge(row)}</td></tr>"
        for row in frame.head(max_rows).iter_rows(named=True)
    )
    return (
        f"{STYLE}<div class='amikit-calls'><table class='amikit-tbl'><tr>{head}</tr>{body}"
        f"</table>{_more(frame.height, min(frame.height, max_rows))}</div>"
    )


def calls_text(frame: Any, max_rows: int = MAX_ROWS) -> str:
    """A calls frame as aligned text (one call: a list of facts)."""
    from ..analysis import outcome_text

    if frame.height == 1:
        call = frame.row(0, named=True)
        keys = ("call_id", "disposition", "caller_num", "dialed", "answered_by", "start",
                "duration", "billsec", "hangup_cause_txt", "channels")  # fmt: skip
        shown = {**call, "disposition": outcome_text(call)}
        return "\n".join(f"{k:>16}: {_fmt(shown.get(k))}" for k in keys if k in call)
    lines = []
    for row in frame.head(max_rows).iter_rows(named=True):
        duration = row.get("duration")
        lines.append(
            f"{_fmt(row.get('call_id')):22.22}  {outcome_text(row):9}  "
            f"{_fmt(row.get('caller_num')):>12.12} -> {_fmt(row.get('dialed')):12.12}  "
            f"{_fmt(duration) + 's' if duration is not None else '-':>8}  "
            f"{_fmt(row.get('hangup_cause_txt'))}".rstrip()
        )
    lines.append(f"({frame.height} calls)")
    return "\n".join(lines)


# -- timeline ----------------------------------------------------------------------------


def timeline_html(frame: Any, max_rows: int = 200) -> str:
    """A timeline as the call's story: offset, who, what happened."""
    body = "".join(
        f"<tr class='amikit-row{' amikit-noise' if is_noise(row.get('event') or '') else ''}'>"
        f"<td>+{row.get('offset') or 0:.3f}s</td><td>{escape(_fmt(row.get('who')))}</td>"
        f"<td title='{escape(explain(row.get('event') or '').summary, quote=True)}'>"
        f"{escape(_fmt(row.get('event')))}</td><td>{escape(_fmt(row.get('text')))}</td></tr>"
        for row in frame.head(max_rows).iter_rows(named=True)
    )
    head = "<tr><th>offset</th><th>who</th><th>event</th><th>what happened</th></tr>"
    return (
        f"{STYLE}<div class='amikit-timeline'><table class='amikit-tbl'>{head}{body}</table>"
        f"{_more(frame.height, min(frame.height, max_rows))}</div>"
    )


def timeline_text(frame: Any, max_rows: int = 200) -> str:
    """A timeline as text lines."""
    lines = [
        f"+{row.get('offset') or 0:8.3f}s  {_fmt(row.get('who')):24.24}  {_fmt(row.get('text'))}"
        for row in frame.head(max_rows).iter_rows(named=True)
    ]
    return "\n".join(lines)


_HTML = {"events": events_html, "calls": calls_html, "timeline": timeline_html}
_TEXT = {"events": events_text, "calls": calls_text, "timeline": timeline_text}


def to_html(frame: Any) -> str | None:
    """amikit's HTML for one of its frames, or None for any other frame."""
    kind = frame_kind(frame)
    return _HTML[kind](frame) if kind else None


def to_text(frame: Any) -> str | None:
    """amikit's plain text for one of its frames, or None for any other frame."""
    kind = frame_kind(frame)
    return _TEXT[kind](frame) if kind else None


def enable(ipython: Any = None) -> None:
    """Register the displays with IPython (``%load_ext amikit`` does this).

    Frames that are not amikit's keep polars' own rendering.
    """
    import polars as pl

    if ipython is None:
        from IPython import get_ipython

        ipython = get_ipython()
        if ipython is None:
            return
    formatters = ipython.display_formatter.formatters

    def html(frame: pl.DataFrame) -> str | None:
        out = to_html(frame)
        return out if out is not None else frame._repr_html_()

    def text(frame: pl.DataFrame, printer: Any, cycle: bool) -> None:
        out = to_text(frame)
        printer.text(out if out is not None else repr(frame))

    formatters["text/html"].for_type(pl.DataFrame, html)
    formatters["text/plain"].for_type(pl.DataFrame, text)

    def message_text(msg: Message, printer: Any, cycle: bool) -> None:
        printer.text(str(msg))  # "Key: Value" lines, secrets masked

    formatters["text/plain"].for_type(Message, message_text)
