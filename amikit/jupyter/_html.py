"""Small HTML building blocks shared by the widgets and the rich displays.

Everything is plain HTML with inline styles: it needs no JavaScript, so it renders the same
in JupyterLab, Notebook 7, VS Code, Voila and a static export. Every value is escaped;
``Secret``/``Key`` values are masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape

from ..protocol import Message, mask_value
from ._explain import describe_field, explain
from ._noise import is_noise

__all__ = ["fmt_time", "message_details", "message_row_html", "one_line", "table"]

STYLE = (
    "<style>"
    ".amikit-tbl{border-collapse:collapse;font-family:monospace;font-size:12px;width:100%}"
    ".amikit-tbl th,.amikit-tbl td{text-align:left;padding:1px 6px;"
    "border-bottom:1px solid #eee;vertical-align:top}"
    ".amikit-tbl th{background:#f4f4f8}"
    ".amikit-tbl td.amikit-nowrap{white-space:nowrap}"
    ".amikit-noise{color:#999}"
    ".amikit-tbl details summary{cursor:pointer}"
    ".amikit-status{font-family:sans-serif;font-size:12px;color:#444}"
    ".amikit-badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px}"
    "</style>"
)

# Fields shown in the one-line summary, in order, per event name (others: a generic pick).
_SUMMARY_FIELDS: dict[str, tuple[str, ...]] = {
    "DialBegin": ("DestChannel", "DialString"),
    "DialState": ("DestChannel", "DialStatus"),
    "DialEnd": ("DestChannel", "DialStatus"),
    "Hangup": ("Cause", "Cause-txt"),
    "HangupRequest": ("Cause",),
    "SoftHangupRequest": ("Cause",),
    "Newstate": ("ChannelStateDesc", "CallerIDNum", "ConnectedLineNum"),
    "Newchannel": ("CallerIDNum", "Exten"),
    "BridgeEnter": ("BridgeUniqueid", "BridgeNumChannels"),
    "BridgeLeave": ("BridgeUniqueid", "BridgeNumChannels"),
    "BridgeCreate": ("BridgeUniqueid", "BridgeType"),
    "BridgeDestroy": ("BridgeUniqueid",),
    "VarSet": ("Variable", "Value"),
    "Newexten": ("Exten", "Application", "AppData"),
    "QueueCallerJoin": ("Queue", "Position"),
    "QueueCallerLeave": ("Queue",),
    "AgentCalled": ("Queue", "DestChannel"),
    "AgentConnect": ("Queue", "DestChannel", "HoldTime"),
    "LocalBridge": ("LocalOneChannel", "LocalTwoChannel"),
    "UserEvent": ("UserEvent",),
    "OriginateResponse": ("Response", "Reason"),
}
_SKIP = frozenset(
    {
        "event", "privilege", "channel", "uniqueid", "linkedid", "channelstate", "language",
        "accountcode", "priority", "timestamp", "systemname",
    }
)  # fmt: skip


def fmt_time(value: datetime | None) -> str:
    """``HH:MM:SS.mmm`` of a (UTC) datetime, or ``""``."""
    if value is None:
        return ""
    return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def one_line(msg: Message, limit: int = 4) -> str:
    """The few fields that say what this event is about, as ``key=value`` text."""
    keys = _SUMMARY_FIELDS.get(msg.name)
    pairs: list[tuple[str, str]] = []
    if keys:
        for key in keys:
            value = msg.get(key)
            if value:
                pairs.append((key, value))
    else:
        for key, value in msg.items():
            if key.lower() in _SKIP or not value or key.startswith("Dest"):
                continue
            pairs.append((key, value))
            if len(pairs) >= limit:
                break
    return "  ".join(f"{k}={mask_value(k, v)}" for k, v in pairs)


def message_details(msg: Message) -> str:
    """Every field of a message as a small table, each name explained on hover."""
    rows = "".join(
        f"<tr><td title='{escape(describe_field(k), quote=True)}'>{escape(k)}</td>"
        f"<td>{escape(mask_value(k, v))}</td></tr>"
        for k, v in msg.items()
    )
    return f"<table class='amikit-tbl'>{rows}</table>"


def message_row_html(msg: Message, *, details: bool = True) -> str:
    """One table row for an event: time, name (hover: its meaning), channel, fields.

    With ``details`` the fields unfold on click into a table of every field, each
    explained on hover; without, only the one-line summary is sent (live, small payload).
    """
    name = msg.name
    summary = explain(name).summary if name else ""
    cls = " class='amikit-row amikit-noise'" if is_noise(name) else " class='amikit-row'"
    seq = "" if msg.seq is None else str(msg.seq)
    line = escape(one_line(msg))
    fields = (
        f"<details><summary>{line}</summary>{message_details(msg)}</details>" if (details) else line
    )
    return (
        f"<tr{cls}><td>{escape(seq)}</td><td class='amikit-nowrap'>{fmt_time(msg.received_at)}</td>"
        f"<td title='{escape(summary, quote=True)}'><b>{escape(name)}</b></td>"
        f"<td class='amikit-nowrap'>{escape(msg.get('Channel') or '')}</td>"
        f"<td>{fields}</td></tr>"
    )


def table(header: Iterable[str], rows_html: str, *, css_class: str = "amikit-tbl") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return f"<table class='{css_class}'><tr>{head}</tr>{rows_html}</table>"
