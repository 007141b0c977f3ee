"""Call templates of the simulated PBX, compiled for fast rendering: pure data, no clock.

Strategy
--------
A *template* (see :mod:`amikit.sim._extract`) is one real Asterisk 22 call with its identities
replaced by slots: ``\\x00U3\\x00`` is the call's third Uniqueid, ``\\x00T\\x00`` the event's
own time, and so on (the slot letters are listed in :mod:`amikit.sim._extract`).
:class:`CompiledTemplate` turns each event into a list of byte chunks and slot tokens, so
rendering an event is one ``b"".join`` (the flood benchmark needs tens of thousands of events
a second from one core); :class:`~amikit.sim._call.Call` fills the slots.

The shipped templates (``scenarios.json``) are loaded once and compiled once per switch
setting (``Cdr``/``CEL`` events on or off, ``Timestamp:`` headers on or off); a
:class:`ScenarioSpec` says how a named scenario of :mod:`amikit.sim._scenarios` uses one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "SLOT",
    "SLOT_RE",
    "CompiledEvent",
    "CompiledTemplate",
    "ScenarioSpec",
    "compiled_templates",
    "load_templates",
    "pure_slot",
]

#: What opens and closes a slot in a template value (a NUL never appears in AMI text).
SLOT = "\x00"
#: A slot and its token (``U3``, ``T``, ...).
SLOT_RE = re.compile("\x00([^\x00]*)\x00")


@lru_cache(maxsize=1)
def load_templates() -> dict[str, Any]:
    """The templates shipped with the package (``amikit/sim/scenarios.json``)."""
    text = resources.files("amikit.sim").joinpath("scenarios.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=8)
def compiled_templates(cdr: bool, cel: bool, timestamps: bool) -> dict[str, CompiledTemplate]:
    """Every shipped template compiled once per switch setting (they are read-only)."""
    return {
        kind: CompiledTemplate(kind, data, cdr=cdr, cel=cel, timestamps=timestamps)
        for kind, data in load_templates().items()
    }


def _tokens(value: str) -> list[str | tuple[str]]:
    """Split a template value into literal strings and ``(slot,)`` tuples."""
    parts: list[str | tuple[str]] = []
    pos = 0
    for m in SLOT_RE.finditer(value):
        if m.start() > pos:
            parts.append(value[pos : m.start()])
        parts.append((m.group(1),))
        pos = m.end()
    if pos < len(value):
        parts.append(value[pos:])
    return parts


def pure_slot(value: str) -> str | None:
    """The token of ``value`` when it is one slot and nothing else, else None."""
    m = SLOT_RE.fullmatch(value)
    return m.group(1) if m else None


@dataclass(slots=True)
class CompiledEvent:
    """One template event, ready to render."""

    index: int
    full_index: int  # position in the unfiltered template (before dropping Cdr/CEL)
    offset: float
    name: str
    privilege: str
    pairs: list[tuple[str, str]]
    chunks: list[bytes | str]
    channel_slot: str | None  # the U-slot of the (unprefixed) channel snapshot
    dest_slot: str | None  # the U-slot of the Dest snapshot (dial events)
    originate: int | None  # OriginateResponse: which originate of the template
    cdr: bool
    cel: bool

    fields: dict[str, str] = field(default_factory=dict)  # first value of each key

    def value(self, key: str) -> str | None:
        return self.fields.get(key)


def _first_values(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _compile_chunks(pairs: Sequence[tuple[str, str]]) -> list[bytes | str]:
    chunks: list[bytes | str] = []
    literal: list[str] = []
    for key, value in pairs:
        literal.append(f"{key}: ")
        for part in _tokens(value):
            if isinstance(part, tuple):
                chunks.append("".join(literal).encode())
                literal = []
                chunks.append(part[0])
            else:
                literal.append(part)
        literal.append("\r\n")
    literal.append("\r\n")
    chunks.append("".join(literal).encode())
    return [c for c in chunks if c != b""]


class CompiledTemplate:
    """A template compiled for fast rendering (see the module docstring)."""

    def __init__(
        self, kind: str, data: dict[str, Any], *, cdr: bool, cel: bool, timestamps: bool = True
    ) -> None:
        self.kind = kind
        self.originates = int(data.get("originates", 1))
        self.callers = int(data.get("callers", 1))
        events: list[CompiledEvent] = []
        self.all_offsets = [float(offset) for offset, _ in data["events"]]
        for full_index, (offset, raw_pairs) in enumerate(data["events"]):
            pairs = [(k, v) for k, v in raw_pairs if k != "Timestamp"]
            if timestamps:
                # manager.conf timestampevents = yes: right after Privilege (some captures
                # were taken without it; one PBX has one setting)
                at = 2 if len(pairs) > 1 and pairs[1][0] == "Privilege" else 1
                pairs.insert(at, ("Timestamp", f"{SLOT}T{SLOT}"))
            name = pairs[0][1]
            if name == "Cdr" and not cdr:
                continue
            if name == "CEL" and not cel:
                continue
            d = dict(pairs)
            uid = pure_slot(d.get("Uniqueid", "")) if "Uniqueid" in d else None
            dest = pure_slot(d.get("DestUniqueid", "")) if "DestUniqueid" in d else None
            origin = None
            if name == "OriginateResponse":
                slot = pure_slot(d.get("ActionID", ""))
                origin = int(slot[1:]) if slot and slot.startswith("A") else 0
                uid = None  # OriginateResponse is about the call, not a snapshot
            events.append(
                CompiledEvent(
                    index=len(events),
                    full_index=full_index,
                    offset=float(offset),
                    name=name,
                    privilege=d.get("Privilege", ""),
                    pairs=pairs,
                    chunks=_compile_chunks(pairs),
                    channel_slot=uid,
                    dest_slot=dest,
                    originate=origin,
                    cdr=name == "Cdr",
                    cel=name == "CEL",
                    fields=_first_values(pairs),
                )
            )
        self.events = events
        self.offsets = [e.offset for e in events]

    def first_index(self, predicate: Callable[[CompiledEvent], bool]) -> int:
        """Index of the first event matching ``predicate`` (len(events) if none)."""
        for e in self.events:
            if predicate(e):
                return e.index
        return len(self.events)


@dataclass
class ScenarioSpec:
    """How a named scenario uses a template (see :mod:`amikit.sim._scenarios`)."""

    name: str
    template: str
    # cancel: keep only events before the first event on a channel starting with this
    cut_before_channel: str | None = None
    # cancel: hang the first channel up this many seconds (range) after the start
    hangup_after: tuple[float, float] | None = None
