"""``ladder``: a sequence (ladder) diagram of one call, like sngrep's call flow for SIP.

Columns are the call's endpoints (channel names without their unique suffix; the two
halves of a Local channel fold into one column unless ``fold_local=False``); time runs
down, one step per event, with the offset since the call's start on the left. Events
between two channels (dial, dial outcome, bridge, queue agent, transfer, pickup) are
arrows; events of one channel (state changes, hangup, hold, DTMF ...) are marks on its
lifeline.

The :class:`Ladder` object renders to pure SVG (no JavaScript, no external fonts), shows
itself in Jupyter (``_repr_svg_``/``_repr_html_``), prints as text in a terminal, and saves
to ``.svg`` or ``.html``. The layout is computed once from the call's timeline; the steps
of one call are few (tens to hundreds), so this part is plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

import polars as pl

from .._exceptions import UsageError
from ._frame import FrameT
from ._noise import drop_noise
from ._rules import unseen_note
from ._timeline import timeline

__all__ = ["Ladder", "Step", "ladder"]

ORIGINATE = "(originate)"

# Events that never make a step (the timeline still has them).
_SKIP = frozenset(
    {
        "BridgeCreate",
        "BridgeDestroy",
        "NewCallerid",
        "NewConnectedLine",
        "NewAccountCode",
        "LocalBridge",
        "Cdr",
        "CEL",
        "VarSet",
        "Newexten",
        "DialState",
        "BridgeLeave",
        "HangupRequest",
        "SoftHangupRequest",
        "OriginateResponse",
    }
)
_MARK_LABELS = {
    "QueueCallerJoin": "joins queue {queue}",
    "QueueCallerLeave": "leaves queue {queue}",
    "QueueCallerAbandon": "abandons queue {queue}",
    "MusicOnHoldStart": "music on hold",
    "MusicOnHoldStop": "music on hold ends",
    "Hold": "hold",
    "Unhold": "unhold",
    "MixMonitorStart": "recording",
    "MixMonitorStop": "recording ends",
}
_COLOURS = {
    "dial": "#1f77b4",
    "answer": "#2ca02c",
    "fail": "#d62728",
    "bridge": "#9467bd",
    "transfer": "#ff7f0e",
    "queue": "#17becf",
    "mark": "#444444",
    "hangup": "#d62728",
}


@dataclass
class Step:
    """One row of the ladder: an arrow ``src -> dst`` or a mark on ``src``."""

    offset: float | None
    src: str
    dst: str | None
    label: str
    kind: str
    event: str


def _short(label: str | None) -> str:
    return label or "?"


def _steps(tl: pl.DataFrame, fold_local: bool) -> list[Step]:
    from ._timeline import endpoint_label

    def lab(col: str) -> pl.Expr:
        if col not in tl.columns:
            return pl.lit(None, dtype=pl.String)
        return endpoint_label(pl.col(col), fold_local=fold_local)

    rows = tl.with_columns(
        lab("DestChannel").alias("_dest"),
        lab("TransfererChannel").alias("_xferer"),
        lab("TransfereeChannel").alias("_xferee"),
        lab("OrigTransfererChannel").alias("_orig"),
        lab("SecondTransfererChannel").alias("_second"),
        lab("TargetChannel").alias("_target"),
        lab("ParkeeChannel").alias("_parkee"),
    ).to_dicts()
    steps: list[Step] = []
    members: dict[str, list[str]] = {}
    for r in rows:
        ev = r["event"]
        if ev in _SKIP:
            continue
        off = r["offset"]
        who = r["who"]
        dest = r["_dest"]
        status = r.get("DialStatus") or ""
        if ev == "DialBegin":
            steps.append(Step(off, who or ORIGINATE, dest, "Dial", "dial", ev))
        elif ev == "DialEnd":
            kind = "answer" if status == "ANSWER" else "fail"
            steps.append(Step(off, _short(dest), who or ORIGINATE, status or "end", kind, ev))
        elif ev in ("AgentCalled", "AgentConnect", "AgentRingNoAnswer", "AgentComplete"):
            label = {
                "AgentCalled": f"queue {r.get('Queue') or ''}",
                "AgentConnect": "connect",
                "AgentRingNoAnswer": "no answer",
                "AgentComplete": "complete",
            }[ev]
            if ev == "AgentCalled":
                steps.append(Step(off, _short(who), dest, label, "queue", ev))
            else:
                steps.append(Step(off, _short(dest), who, label, "queue", ev))
        elif ev == "BridgeEnter":
            bridge = r.get("BridgeUniqueid") or ""
            inside = [m for m in members.get(bridge, []) if m != who]
            members.setdefault(bridge, []).append(who)
            if inside:
                steps.append(Step(off, inside[-1], who, "bridged", "bridge", ev))
            else:
                steps.append(Step(off, _short(who), None, "enters bridge", "mark", ev))
        elif ev == "BlindTransfer":
            steps.append(
                Step(off, _short(r["_xferer"]), r["_xferee"], "blind transfer", "transfer", ev)
            )
        elif ev == "AttendedTransfer":
            steps.append(
                Step(off, _short(r["_orig"]), r["_second"], "attended transfer", "transfer", ev)
            )
        elif ev == "Pickup":
            steps.append(Step(off, _short(who), r["_target"], "pickup", "transfer", ev))
        elif ev == "Newstate":
            desc = r.get("ChannelStateDesc") or ""
            label = {"Up": "answered", "Ringing": "ringing", "Ring": "calling"}.get(desc, desc)
            steps.append(Step(off, _short(who), None, label, "mark", ev))
        elif ev == "Hangup":
            label = f"hangup {r.get('Cause') or ''} {r.get('Cause-txt') or ''}".strip()
            steps.append(Step(off, _short(who), None, label, "hangup", ev))
        elif ev == "Newchannel":
            steps.append(Step(off, _short(who), None, "new channel", "mark", ev))
        elif ev == "ParkedCall":
            steps.append(Step(off, _short(r["_parkee"]), None, "parked", "mark", ev))
        elif ev in _MARK_LABELS:
            label = _MARK_LABELS[ev].format(queue=r.get("Queue") or "")
            steps.append(Step(off, _short(who), None, label.strip(), "mark", ev))
        elif ev == "DTMFEnd":
            steps.append(Step(off, _short(who), None, f"DTMF {r.get('Digit') or ''}", "mark", ev))
        elif ev == "Dialplan":
            apps = r.get("applications") or []
            steps.append(Step(off, _short(who), None, ", ".join(apps)[:40], "mark", ev))
        elif who:
            steps.append(Step(off, who, None, ev, "mark", ev))
    # a step whose far end is unknown becomes a mark
    for s in steps:
        if s.dst is None or s.dst == s.src:
            s.dst = None
            if s.kind in ("dial", "answer", "fail", "bridge", "transfer", "queue"):
                s.kind = "mark" if s.kind != "fail" else "hangup"
    # the two halves of a folded Local channel report the same thing twice: draw it once
    kept: list[Step] = []
    for s in steps:
        if kept and (kept[-1].src, kept[-1].dst, kept[-1].label) == (s.src, s.dst, s.label):
            continue
        kept.append(s)
    return kept


class Ladder:
    """A call's ladder diagram; see :func:`ladder`.

    Attributes
    ----------
    call_id
        The call shown.
    title
        What the call was: caller → callee, start time and outcome (``call ID`` when
        unknown).
    columns
        Endpoint labels, left to right (order of first appearance).
    steps
        The arrows and marks, top to bottom.
    """

    COLUMN_WIDTH = 190
    ROW_HEIGHT = 26
    LEFT = 70
    TOP = 64

    def __init__(
        self,
        call_id: str,
        columns: list[str],
        steps: list[Step],
        *,
        headline: str | None = None,
        in_progress: bool = False,
        joined_late: bool = False,
    ) -> None:
        self.call_id = call_id
        #: ``caller → callee, start, outcome`` of a call seen whole (outcome left out otherwise)
        self.headline = headline
        self.columns = columns
        self.steps = steps
        #: The recording did not see the call end / begin (Rule 7 of the call rules).
        self.in_progress = in_progress
        self.joined_late = joined_late

    @property
    def title(self) -> str:
        """``call <id>: caller → callee, start, outcome``, and what the recording did not see."""
        note = unseen_note(self.in_progress, self.joined_late)
        head = f"call {self.call_id}" + (f": {self.headline}" if self.headline else "")
        return head + (f" ({note})" if note else "")

    # -- SVG -------------------------------------------------------------------------------
    def to_svg(self) -> str:
        """The diagram as a standalone SVG document (a string)."""
        cw, rh, left, top = self.COLUMN_WIDTH, self.ROW_HEIGHT, self.LEFT, self.TOP
        width = left + cw * max(len(self.columns), 1) + cw // 2
        height = top + rh * (len(self.steps) + 1) + 20
        x = {name: left + cw * i + cw // 2 for i, name in enumerate(self.columns)}
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
            'font-size="12">',
            '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            'fill="context-stroke"/></marker></defs>',
            f'<rect width="{width}" height="{height}" fill="white"/>',
            f'<text x="8" y="18" font-weight="bold">{escape(self.title)}</text>',
        ]
        bottom = top + rh * (len(self.steps) + 0.5)
        for name, cx in x.items():
            out.append(
                f'<rect x="{cx - cw // 2 + 6}" y="{top - 34}" width="{cw - 12}" height="22" '
                'rx="4" fill="#eef3fb" stroke="#6b8cc7"/>'
            )
            head = escape(_fit(name, 26))
            out.append(f'<text x="{cx}" y="{top - 19}" text-anchor="middle">{head}</text>')
            out.append(
                f'<line x1="{cx}" y1="{top - 12}" x2="{cx}" y2="{bottom}" stroke="#b0b0b0" '
                'stroke-dasharray="4 3"/>'
            )
        for i, s in enumerate(self.steps):
            y = top + rh * (i + 0.5)
            colour = _COLOURS.get(s.kind, "#444444")
            out.append(f"<g><title>{escape(s.event)}: {escape(s.label)}</title>")
            if s.offset is not None:
                out.append(
                    f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" fill="#666">'
                    f"{s.offset:.3f}s</text>"
                )
            sx = x[s.src]
            if s.dst is not None:
                dx = x[s.dst]
                out.append(
                    f'<line x1="{sx}" y1="{y}" x2="{dx}" y2="{y}" stroke="{colour}" '
                    'stroke-width="1.6" marker-end="url(#head)"/>'
                )
                label = escape(_fit(s.label, 30))
                out.append(
                    f'<text x="{(sx + dx) / 2}" y="{y - 4}" text-anchor="middle" '
                    f'fill="{colour}">{label}</text>'
                )
            else:
                label = escape(_fit(s.label, 28))
                out.append(f'<circle cx="{sx}" cy="{y}" r="4" fill="{colour}"/>')
                out.append(f'<text x="{sx + 8}" y="{y + 4}" fill="{colour}">{label}</text>')
            out.append("</g>")
        out.append("</svg>")
        return "\n".join(out)

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def _repr_html_(self) -> str:
        return f'<div style="overflow-x:auto">{self.to_svg()}</div>'

    def to_html(self) -> str:
        """A standalone HTML page holding the SVG (no JavaScript)."""
        return (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{escape(self.title)}</title></head><body>\n"
            f"{self.to_svg()}\n</body></html>\n"
        )

    def save(self, path: str | Path) -> Path:
        """Write ``.svg`` or ``.html`` (chosen by the file suffix); returns the path."""
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".svg":
            target.write_text(self.to_svg(), encoding="utf-8")
        elif suffix in (".html", ".htm"):
            target.write_text(self.to_html(), encoding="utf-8")
        else:
            msg = (
                f"cannot save a ladder as {suffix or 'a file without suffix'!r}: use .svg or .html"
            )
            raise UsageError(msg)
        return target

    # -- text ------------------------------------------------------------------------------
    def __str__(self) -> str:
        width = 22
        names = [_fit(c, width - 2) for c in self.columns]
        centre = {c: 9 + width * i + width // 2 for i, c in enumerate(self.columns)}
        total = 9 + width * len(self.columns)
        lines = [self.title, " " * 9 + "".join(n.center(width) for n in names)]
        for s in self.steps:
            row = [" "] * total
            for cx in centre.values():
                row[cx] = "|"
            off = "" if s.offset is None else f"{s.offset:7.3f}s"
            row[: len(off)] = list(off)
            a = centre[s.src]
            if s.dst is not None:
                b = centre[s.dst]
                lo, hi = sorted((a, b))
                for i in range(lo + 1, hi):
                    row[i] = "-"
                if b > a:
                    row[hi - 1] = ">"
                else:
                    row[lo + 1] = "<"
                label = _fit(s.label, hi - lo - 4)
                start = lo + 1 + max((hi - lo - 1 - len(label)) // 2, 1)
                row[start : start + len(label)] = list(label)
            else:
                row[a] = "*"
                label = " " + s.label
                row[a + 1 : a + 1 + len(label)] = list(label)
                row = row[: max(total, a + 1 + len(label))]
            lines.append("".join(row).rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Ladder call={self.call_id} columns={len(self.columns)} steps={len(self.steps)}>"


def _fit(text: str, width: int) -> str:
    width = max(width, 3)
    return text if len(text) <= width else text[: width - 1] + "…"


def ladder(
    frame: FrameT,
    call_id: str,
    *,
    fold_local: bool = True,
    noise: bool = False,
) -> Ladder:
    """A sequence (ladder) diagram of one call.

    Parameters
    ----------
    frame
        Events as ``amikit.load``/``amikit.scan`` return them.
    call_id
        The call (``call_id`` from :func:`calls`) or any Uniqueid/Linkedid in it.
    fold_local
        Draw the two halves of a Local channel as one column.
    noise
        Keep the events :func:`drop_noise` would remove (dialplan steps become marks).

    Returns
    -------
    Ladder
        Shows itself in Jupyter, prints as text, ``.save("call.svg")`` or ``.html``.
    """
    events = frame if noise else drop_noise(frame)
    found = timeline(events, call_id, fold_local=fold_local)
    tl = found.collect() if isinstance(found, pl.LazyFrame) else found
    if tl.height == 0:
        msg = f"no event of call {call_id!r} in this frame"
        raise UsageError(msg)
    steps = _steps(tl, fold_local)
    columns: list[str] = []
    for s in steps:
        for name in (s.src, s.dst):
            if name is not None and name not in columns:
                columns.append(name)
    if ORIGINATE in columns:
        columns.remove(ORIGINATE)
        columns.insert(0, ORIGINATE)
    real_id = tl["call_id"][0] if "call_id" in tl.columns else call_id
    headline, in_progress, joined_late = _summary(frame, call_id)
    return Ladder(
        str(real_id),
        columns,
        steps,
        headline=headline,
        in_progress=in_progress,
        joined_late=joined_late,
    )


def _summary(frame: FrameT, call_id: str) -> tuple[str | None, bool, bool]:
    """``(headline, in_progress, joined_late)`` from the call's own summary row.

    The call's events are taken with noise (a folded Newchannel still says the call began
    in the recording), then summarised by :func:`calls`, so the title states what the call
    table states. The outcome is named only for a call seen whole; the flags say the rest.
    """
    from ._calls import calls

    found = timeline(frame, call_id, fold_local=False)
    tl = found.collect() if isinstance(found, pl.LazyFrame) else found
    raw = tl.drop("offset", "time", "channel", "who", "text", "call_id", strict=False)
    summary = calls(raw)
    assert isinstance(summary, pl.DataFrame)
    if summary.height == 0:
        return None, False, False
    row = summary.row(0, named=True)
    in_progress, joined_late = bool(row.get("in_progress")), bool(row.get("joined_late"))
    parts = [f"{row['caller_num'] or '?'} → {row['dialed'] or '?'}"]
    if row["start"] is not None:
        parts.append(f"{row['start']:%Y-%m-%d %H:%M:%S}")
    if not in_progress:
        parts.append(row["disposition"] or "?")
    return ", ".join(parts), in_progress, joined_late
