"""``amikit.explain``: what an AMI event, action or field means, in plain words.

Strategy
--------
Facts and words are kept apart. Which events exist, their class, the version that
documented them and their field lists come from ``data/ami-events.json`` (extracted from
Asterisk's XML documentation, 181 events). The words come from :mod:`._glossary`: a sentence per
common event and action, a glossary of fields, and the role prefixes of snapshot blocks
(``Dest``, ``Transferer``, ``LocalOne``, ...) so that any prefixed field (``DestLinkedid``)
is explained without listing it. Explaining a :class:`~amikit.Message` lists the fields it
actually carries, with their values (secrets masked).

This module is pure Python (no IPython, no ipywidgets): the result renders as text in a
terminal and as HTML in a notebook (``_repr_html_``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from typing import Any, Literal

from .. import _reference as ref
from ..protocol import Message, mask_value
from . import _glossary as g
from ._noise import is_noise

__all__ = ["Explanation", "FieldNote", "describe_cause", "describe_field", "explain"]

Kind = Literal["event", "action", "response", "field", "unknown"]

_CHANVARIABLE = (
    "a channel variable that the manager configuration (channelvars) asks to attach to "
    "every event of the channel"
)


@dataclass(frozen=True)
class FieldNote:
    """One field: its name, what it means, and its value when explaining a message."""

    name: str
    meaning: str
    value: str | None = None


@dataclass(frozen=True)
class Explanation:
    """What an AMI event, action, response or field is, in plain words.

    Shows itself as HTML in Jupyter and as aligned text with ``print``.

    Attributes
    ----------
    name : str
        The canonical spelling (``"Hangup"``, ``"Originate"``, ``"DestLinkedid"``).
    kind : {"event", "action", "response", "field", "unknown"}
        What the name turned out to be.
    summary : str
        One or two sentences.
    fields : tuple of FieldNote
        The fields (documented ones, or those of the explained message with their values).
    event_class : str or None
        The manager read class of an event (``call``, ``dialplan``, ...).
    since : str or None
        The Asterisk version that documented the event.
    noise : bool
        True for events amikit hides by default (VarSet, Newexten, RTCP, ...).
    suggestions : tuple of str
        Close known names, for an unknown one.
    """

    name: str
    kind: Kind
    summary: str
    fields: tuple[FieldNote, ...] = ()
    event_class: str | None = None
    since: str | None = None
    documented_in: str | None = None
    noise: bool = False
    suggestions: tuple[str, ...] = field(default=())

    def meaning(self, name: str) -> str | None:
        """The meaning of one field of this explanation (case-insensitive), or None."""
        low = name.lower()
        for note in self.fields:
            if note.name.lower() == low:
                return note.meaning
        return None

    def _header(self) -> str:
        bits = [self.kind]
        if self.event_class:
            bits.append(f"class {self.event_class}")
        if self.since:
            bits.append(f"since Asterisk {self.since}")
        if self.noise:
            bits.append("noise")
        return f"{self.name} ({', '.join(bits)})"

    def __str__(self) -> str:
        lines = [self._header(), f"  {self.summary}"]
        if self.suggestions:
            lines.append(f"  Did you mean: {', '.join(self.suggestions)}?")
        if self.fields:
            width = min(28, max(len(n.name) for n in self.fields))
            has_values = any(n.value is not None for n in self.fields)
            vwidth = min(30, max(len(n.value or "") for n in self.fields)) if has_values else 0
            lines.append("")
            for note in self.fields:
                value = "" if not has_values else f"{_clip(note.value or '', 30):<{vwidth}}  "
                lines.append(f"  {note.name:<{width}}  {value}{note.meaning}".rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Explanation {self.kind} {self.name!r}: {len(self.fields)} fields>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        has_values = any(n.value is not None for n in self.fields)
        badges = "".join(
            f"<span style='{_BADGE}'>{escape(text)}</span>"
            for text in (
                self.kind,
                f"class {self.event_class}" if self.event_class else "",
                f"since {self.since}" if self.since else "",
                "noise" if self.noise else "",
            )
            if text
        )
        rows = "".join(
            "<tr>"
            f"<td style='{_TD}'><code>{escape(n.name)}</code></td>"
            + (f"<td style='{_TD}'>{escape(n.value or '')}</td>" if has_values else "")
            + f"<td style='{_TD}'>{escape(n.meaning)}</td></tr>"
            for n in self.fields
        )
        head = (
            f"<tr><th style='{_TD}'>field</th>"
            + (f"<th style='{_TD}'>value</th>" if has_values else "")
            + f"<th style='{_TD}'>meaning</th></tr>"
        )
        table = f"<table style='border-collapse:collapse'>{head}{rows}</table>" if rows else ""
        hint = (
            f"<div>Did you mean: {escape(', '.join(self.suggestions))}?</div>"
            if self.suggestions
            else ""
        )
        return (
            "<div class='amikit-explain' style='font-family:sans-serif;font-size:13px'>"
            f"<div><b style='font-size:15px'>{escape(self.name)}</b> {badges}</div>"
            f"<p style='margin:4px 0'>{escape(self.summary)}</p>{hint}{table}</div>"
        )


_BADGE = (
    "display:inline-block;margin-left:4px;padding:0 6px;border-radius:8px;"
    "background:#eef;color:#335;font-size:11px"
)
_TD = "text-align:left;padding:1px 8px;border-bottom:1px solid #eee;vertical-align:top"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@lru_cache(maxsize=1)
def _catalog() -> dict[str, list[dict[str, Any]]]:
    return {name: list(facts.variants) for name, facts in ref.events().items()}


@lru_cache(maxsize=1)
def _event_index() -> dict[str, str]:
    """Lower-case name -> canonical spelling, for documented and glossary events."""
    index = {name.lower(): name for name in _catalog()}
    for name in g.EVENTS:
        index.setdefault(name.lower(), name)
    # Asterisk documents "NewExten" but sends "Newexten": prefer what is on the wire.
    index["newexten"] = "Newexten"
    return index


def _lookup(table: Mapping[str, Any], name: str) -> str | None:
    if name in table:
        return name
    low = name.lower()
    for key in table:
        if key.lower() == low:
            return key
    return None


@lru_cache(maxsize=4096)
def describe_field(name: str) -> str:
    """The meaning of one AMI field in plain words (``""`` if amikit has no text for it).

    Role-prefixed snapshot fields are understood: ``DestCallerIDNum`` is "the channel being
    dialled (the destination): the number this channel presents as its caller".
    """
    for table in (g.SNAPSHOT, g.BRIDGE_FIELDS, g.FIELDS):
        key = _lookup(table, name)
        if key is not None:
            return str(table[key])
    if name.lower().startswith("chanvariable"):
        return _CHANVARIABLE
    for roles, fields in ((g.ROLES, g.SNAPSHOT), (g.BRIDGE_ROLES, g.BRIDGE_FIELDS)):
        for role in sorted(roles, key=len, reverse=True):
            if name.lower().startswith(role.lower()) and len(name) > len(role):
                key = _lookup(fields, name[len(role) :])
                if key is not None:
                    return f"{roles[role]}: {fields[key]}"
    return ""


def _value_meaning(key: str, value: str) -> str:
    """The field's meaning, plus what this particular value means when amikit knows."""
    meaning = describe_field(key)
    if key.lower() in ("cause", "hangupcause") and value in g.CAUSES:
        meaning = f"{meaning}. Here: {g.CAUSES[value]}"
    return meaning


def describe_cause(code: str | int | None) -> str:
    """A Q.850 hangup cause (``Cause`` field) in plain words.

    Accepts the code (``17``, ``"17"``) or a code followed by Asterisk's text
    (``"17 User busy"``, as :func:`amikit.stats` keys show it).

    >>> describe_cause("17")
    'user busy: the callee was busy'
    """
    if code is None:
        return ""
    text = str(code).strip()
    number = text.split(" ", 1)[0]
    if number in g.CAUSES:
        return g.CAUSES[number]
    return f"cause {text}" if text.isdigit() else text


def _documented_fields(variants: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for variant in variants:
        for prefix in variant.get("channel_snapshots", []):
            names.extend(prefix + f for f in g.SNAPSHOT if f != "Tenantid")
        for prefix in variant.get("bridge_snapshots", []):
            names.extend(prefix + f for f in g.BRIDGE_FIELDS if f != "BridgeVideoSource")
        names.extend(variant.get("params", []))
    seen: set[str] = set()
    return [n for n in names if not (n.lower() in seen or seen.add(n.lower()))]


def _class_name(flag: str | None) -> str | None:
    if not flag:
        return None
    return flag.removeprefix("EVENT_FLAG_").lower()


def _event_summary(name: str, variants: list[dict[str, Any]]) -> str:
    text = g.EVENTS.get(name)
    if text:
        return text
    cls = _class_name(variants[0].get("cls")) if variants else None
    where = variants[0].get("file") if variants else None
    about = g.CLASSES.get(cls or "", cls or "an unknown area")
    return (
        f"An event about {about}"
        + (f", raised by Asterisk's {where}" if where else "")
        + ". amikit has no plain-words summary for it yet; its fields are listed below."
    )


def _explain_event(name: str, values: list[tuple[str, str]] | None) -> Explanation:
    canonical = _event_index().get(name.lower(), name)
    variants = _catalog().get(canonical) or _catalog().get(
        next((k for k in _catalog() if k.lower() == name.lower()), ""), []
    )
    cls = _class_name(variants[0].get("cls")) if variants else None
    since = ", ".join(variants[0].get("since", [])) if variants else None
    if values is None:
        notes = tuple(FieldNote(f, describe_field(f)) for f in _documented_fields(variants))
    else:
        notes = tuple(
            FieldNote(k, _value_meaning(k, v), mask_value(k, v))
            for k, v in values
            if k.lower() != "event"
        )
    summary = _event_summary(canonical, variants)
    action = _lookup(g.ACTIONS, canonical)
    if action is not None and values is None:
        summary += f' (There is also an action of this name: explain("{action}", kind="action").)'
    return Explanation(
        name=canonical,
        kind="event",
        summary=summary,
        fields=notes,
        event_class=cls,
        since=since or None,
        documented_in=variants[0].get("file") if variants else None,
        noise=is_noise(canonical),
    )


def _explain_action(name: str, values: list[tuple[str, str]] | None) -> Explanation:
    canonical = _lookup(g.ACTIONS, name) or name
    summary, fields = g.ACTIONS.get(canonical, ("An action amikit has no description for.", {}))
    if values is None:
        notes = tuple(FieldNote(k, v) for k, v in fields.items())
    else:
        notes = tuple(
            FieldNote(k, fields.get(k) or describe_field(k), mask_value(k, v))
            for k, v in values
            if k.lower() != "action"
        )
    return Explanation(name=canonical, kind="action", summary=summary, fields=notes)


def _explain_response(values: list[tuple[str, str]]) -> Explanation:
    outcome = next((v for k, v in values if k.lower() == "response"), "")
    text = {
        "success": "The server accepted the action.",
        "error": "The server refused the action; Message says why.",
        "follows": "Old-style (Asterisk 13 and older) Command output follows as raw text.",
        "goodbye": "The server confirms the log-off and closes the session.",
    }.get(outcome.lower(), "A reply to an action.")
    notes = tuple(FieldNote(k, _value_meaning(k, v), mask_value(k, v)) for k, v in values)
    return Explanation(name=outcome or "Response", kind="response", summary=text, fields=notes)


def _known_names() -> list[str]:
    return sorted(set(_event_index().values()) | set(g.ACTIONS))


def explain(
    name_or_message: str | Message | Mapping[str, Any],
    *,
    kind: Literal["event", "action"] | None = None,
) -> Explanation:
    """Describe an AMI event, action, response or field in plain words.

    Parameters
    ----------
    name_or_message : str, Message or mapping
        An event or action name (any case: ``"hangup"``), a field name (``"Linkedid"``,
        ``"DestChannel"``), a received :class:`~amikit.Message`, or a row of an events
        frame (``df.row(i, named=True)``).
    kind : {"event", "action"}, optional
        Disambiguate a name that is both (``Hangup``, ``Status``, ``UserEvent``);
        events win otherwise.

    Returns
    -------
    Explanation
        Renders as HTML in Jupyter and as text with ``print``. For a message, the fields it
        carries, each with its value (``Secret`` and ``Key`` masked) and meaning.

    Examples
    --------
    >>> print(explain("DialEnd").summary)
    A dial attempt finished; DialStatus says how (ANSWER, BUSY, NOANSWER, CANCEL, ...).
    >>> explain("DestLinkedid").summary.startswith("the channel being dialled")
    True
    """
    if isinstance(name_or_message, Message):
        pairs = name_or_message.items()
        return _explain_pairs(pairs, name_or_message)
    if isinstance(name_or_message, Mapping):
        from ..record._schema import message_pairs

        pairs = list(message_pairs(name_or_message))
        return _explain_pairs(pairs, Message.from_pairs(pairs))
    if not isinstance(name_or_message, str):
        msg = f"explain() takes an event/action/field name or a Message, not {name_or_message!r}"
        raise TypeError(msg)
    name = name_or_message.strip()
    is_event = name.lower() in _event_index()
    is_action = _lookup(g.ACTIONS, name) is not None
    if is_action and (kind == "action" or not is_event):
        return _explain_action(name, None)
    if is_event and kind != "action":
        return _explain_event(name, None)
    meaning = describe_field(name)
    if meaning:
        return Explanation(name=name, kind="field", summary=meaning)
    close = tuple(difflib.get_close_matches(name, _known_names(), n=3, cutoff=0.6))
    if not close:
        low = name.lower()
        close = tuple(n for n in _known_names() if low and low in n.lower())[:3]
    return Explanation(
        name=name,
        kind="unknown",
        summary="Not an event, action or field amikit knows. Custom (UserEvent) names and "
        "module-specific events are possible.",
        suggestions=close,
    )


def _explain_pairs(pairs: Iterable[tuple[str, str]], msg: Message) -> Explanation:
    values = list(pairs)
    if msg.is_event:
        return _explain_event(msg.name, values)
    if msg.is_response:
        return _explain_response(values)
    return _explain_action(msg.get("Action") or "", values)
