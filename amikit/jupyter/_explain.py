"""``amikit.explain``: what an AMI event, action or field means, in plain words.

Strategy
--------
Facts and words are kept apart. Which events and actions exist, their classes, the version
that documented them, their fields, parameters (required or not) and list events come from
:mod:`amikit._reference` (extracted from Asterisk's XML documentation: 181 events, 154
actions). The words are amikit's own: ``data/events.ini`` says for every event what happened,
when it is sent, the fields that matter and its usual neighbours; ``data/actions.ini`` says
for every action what it does, what comes back and gives one example call. :mod:`._glossary`
holds the words shared by many (fields, action parameters, classes, hangup causes, channel
states) and the role prefixes of snapshot blocks (``Dest``, ``Transferer``, ``LocalOne``, ...)
so that any prefixed field (``DestLinkedid``) is explained without listing it. The two are
combined when an explanation is rendered. Explaining a :class:`~amikit.Message` lists the
fields it actually carries, with their values (secrets masked).

This module is pure Python (no IPython, no ipywidgets): the result renders as text in a
terminal and as HTML in a notebook (``_repr_html_``).
"""

from __future__ import annotations

import configparser
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from importlib import resources
from typing import Any, Literal

from .. import _reference as ref
from .._privilege import class_names
from ..protocol import Message, mask_value
from . import _glossary as g
from ._noise import is_noise

__all__ = [
    "Explanation",
    "FieldNote",
    "describe_cause",
    "describe_field",
    "describe_state",
    "explain",
]

Kind = Literal["event", "action", "response", "field", "unknown"]
Classes = str | set[str] | frozenset[str] | None

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
    required: bool = False

    @property
    def label(self) -> str:
        """The name, marked ``*`` when the action requires this parameter."""
        return f"{self.name}*" if self.required else self.name


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
    sections : tuple of (str, str)
        Labelled paragraphs: an event's read class, the fields that matter and the events
        around it; an action's write class, what comes back and an example call; a missing
        class when ``read=``/``write=`` were given.
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
    sections: tuple[tuple[str, str], ...] = ()

    def section(self, label: str) -> str | None:
        """The text of one section (case-insensitive label), or None."""
        low = label.lower()
        return next((text for key, text in self.sections if key.lower() == low), None)

    def meaning(self, name: str) -> str | None:
        """The meaning of one field of this explanation (case-insensitive), or None."""
        low = name.lower()
        for note in self.fields:
            if note.name.lower() == low:
                return note.meaning
        return None

    def _header(self) -> str:
        bits: list[str] = [self.kind]
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
        lines.extend(f"  {label}: {text}" for label, text in self.sections)
        if self.fields:
            width = min(28, max(len(n.label) for n in self.fields))
            has_values = any(n.value is not None for n in self.fields)
            vwidth = min(30, max(len(n.value or "") for n in self.fields)) if has_values else 0
            lines.append("")
            for note in self.fields:
                value = "" if not has_values else f"{_clip(note.value or '', 30):<{vwidth}}  "
                lines.append(f"  {note.label:<{width}}  {value}{note.meaning}".rstrip())
            if any(n.required for n in self.fields):
                lines.append("  (* required)")
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
            f"<td style='{_TD}'><code>{escape(n.name)}</code>{_REQUIRED if n.required else ''}</td>"
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
        sections = "".join(
            f"<div style='margin:2px 0'><b>{escape(label)}</b>: "
            + (f"<code>{escape(text)}</code>" if label == "Example" else escape(text))
            + "</div>"
            for label, text in self.sections
        )
        return (
            "<div class='amikit-explain' style='font-family:sans-serif;font-size:13px'>"
            f"<div><b style='font-size:15px'>{escape(self.name)}</b> {badges}</div>"
            f"<p style='margin:4px 0'>{escape(self.summary)}</p>{hint}{sections}{table}</div>"
        )


_BADGE = (
    "display:inline-block;margin-left:4px;padding:0 6px;border-radius:8px;"
    "background:#eef;color:#335;font-size:11px"
)
_TD = "text-align:left;padding:1px 8px;border-bottom:1px solid #eee;vertical-align:top"
_REQUIRED = " <span style='color:#a33' title='required'>required</span>"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@lru_cache(maxsize=1)
def _catalog() -> dict[str, list[Mapping[str, Any]]]:
    return {name: list(facts.variants) for name, facts in ref.events().items()}


@lru_cache(maxsize=2)
def _words(kind: Literal["events", "actions"]) -> dict[str, dict[str, str]]:
    """amikit's words for every event or action (``data/<kind>.ini``), lower-case name keys."""
    parser = configparser.ConfigParser(interpolation=None, default_section="(none)")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    data = resources.files("amikit.jupyter").joinpath("data")  # one part a call, as on 3.10
    text = data.joinpath(f"{kind}.ini").read_text("utf-8")
    parser.read_string(text)
    return {name.lower(): {"name": name, **parser[name]} for name in parser.sections()}


@lru_cache(maxsize=1)
def _event_index() -> dict[str, str]:
    """Lower-case name -> canonical spelling, for documented events and those amikit words."""
    index = {name.lower(): name for name in _catalog()}
    for words in _words("events").values():  # QueueMember, ...: real, but left undocumented
        index.setdefault(words["name"].lower(), words["name"])
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
    if key.lower() == "channelstate" and value in g.STATES:
        meaning = f"{meaning}. Here: {g.STATES[value]}"
    return meaning


def describe_state(state: str | int | None) -> str:
    """A channel state (``ChannelState`` number or ``ChannelStateDesc`` word) in plain words.

    >>> describe_state(6)
    'Up: answered, media flows'
    """
    if state is None:
        return ""
    text = str(state).strip()
    if text in g.STATES:
        return g.STATES[text]
    low = text.lower()
    found = next((v for v in g.STATES.values() if v.split(":", 1)[0].lower() == low), None)
    return found or text


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


def _documented_fields(variants: list[Mapping[str, Any]]) -> list[str]:
    names: list[str] = []
    for variant in variants:
        for prefix in variant.get("channel_snapshots", []):
            names.extend(prefix + f for f in g.SNAPSHOT if f != "Tenantid")
        for prefix in variant.get("bridge_snapshots", []):
            names.extend(prefix + f for f in g.BRIDGE_FIELDS if f != "BridgeVideoSource")
        names.extend(variant.get("params", []))
    first: dict[str, str] = {}  # the first spelling of each name, in order
    for n in names:
        first.setdefault(n.lower(), n)
    return list(first.values())


def _class_name(flag: str | None) -> str | None:
    if not flag:
        return None
    return flag.removeprefix("EVENT_FLAG_").lower()


def _words_for(kind: Literal["events", "actions"], name: str) -> dict[str, str]:
    return _words(kind).get(name.lower(), {})


def _names(text: str | None) -> list[str]:
    return (text or "").split()


def _class_words(cls: str) -> str:
    return f"{cls} ({g.CLASSES[cls]})" if cls in g.CLASSES else cls


def _missing_read(cls: str | None, read: Classes) -> tuple[str, str] | None:
    if read is None or cls is None:
        return None
    have = class_names(read)
    if "all" in have or "on" in have or cls in have:
        return None
    shown = ",".join(sorted(have)) or "none"
    return (
        "Missing class",
        f"{cls}: the login's read classes ({shown}) do not include it, so this event never "
        f"arrives; add {cls} to the user's read= line in manager.conf and to the event mask",
    )


def _event_sections(name: str, cls: str | None, read: Classes) -> tuple[tuple[str, str], ...]:
    words = _words_for("events", name)
    out: list[tuple[str, str]] = []
    if cls:
        out.append(
            (
                "Read class",
                f"{_class_words(cls)}: a manager session receives it only when the user's "
                f"read= line in manager.conf and the session's event mask include {cls} "
                "(or all)",
            )
        )
    missing = _missing_read(cls, read)
    if missing:
        out.append(missing)
    for label, key in (
        ("Fields that matter", "fields"),
        ("Usually after", "follows"),
        ("Usually before", "precedes"),
    ):
        names = _names(words.get(key))
        if names:
            out.append((label, ", ".join(names)))
    return tuple(out)


def _event_summary(name: str, variants: list[Mapping[str, Any]]) -> str:
    text = _words_for("events", name).get("what")
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


def _explain_event(
    name: str, values: list[tuple[str, str]] | None, read: Classes = None
) -> Explanation:
    canonical = _event_index().get(name.lower(), name)
    variants = _catalog().get(canonical) or _catalog().get(
        next((k for k in _catalog() if k.lower() == name.lower()), ""), []
    )
    cls = _class_name(variants[0].get("cls")) if variants else None
    since = ", ".join(variants[0].get("since", [])) if variants else None
    if values is None:
        names = _documented_fields(variants)
        known = {n.lower() for n in names}
        # fields that matter but that Asterisk documents elsewhere (shared blocks)
        names += [f for f in _names(_words_for("events", canonical).get("fields"))
                  if f.lower() not in known and f != "ActionID"]  # fmt: skip
        notes = tuple(FieldNote(f, describe_field(f)) for f in names)
    else:
        notes = tuple(
            FieldNote(k, _value_meaning(k, v), mask_value(k, v))
            for k, v in values
            if k.lower() != "event"
        )
    summary = _event_summary(canonical, variants)
    action = ref.action_facts(canonical)
    if action is not None and values is None:
        summary += (
            f' (There is also an action of this name: explain("{action.name}", kind="action").)'
        )
    return Explanation(
        name=canonical,
        kind="event",
        summary=summary,
        fields=notes,
        event_class=cls,
        since=since or None,
        documented_in=variants[0].get("file") if variants else None,
        noise=is_noise(canonical),
        sections=_event_sections(canonical, cls, read),
    )


def _param_meaning(words: dict[str, str], name: str) -> str:
    for line in (words.get("params") or "").splitlines():
        key, sep, text = line.partition(":")
        if sep and key.strip().lower() == name.lower():
            return text.strip()
    found = _lookup(g.PARAMS, name)
    return g.PARAMS[found] if found is not None else describe_field(name)


def _returns(facts: ref.ActionFacts, words: dict[str, str]) -> str:
    text = words.get("returns")
    listed = ", ".join(facts.list_events)
    if text:
        missing = [e for e in facts.list_events if e not in text]
        return text + (f" (list events: {', '.join(missing)})" if missing else "")
    if facts.list_events:
        return (
            f"Success with EventList: start, then an event list of {listed} items (each "
            f"carrying the action's ActionID), then {_list_end(facts)}"
        )
    return "a single response: Success, or Error with a Message saying why"


def _list_end(facts: ref.ActionFacts) -> str:
    """The documented event that closes the action's list, or a description of it."""
    events = ref.events()
    for name in (*(f"{e}Complete" for e in facts.list_events), f"{facts.name}Complete"):
        if name in events:
            count = "Items" if "Items" in events[name].params else "ListItems"
            return f"{name} with {count}"
    return "a closing ...Complete event with ListItems"


def _write_sections(facts: ref.ActionFacts, write: Classes) -> list[tuple[str, str]]:
    need = [c for c in facts.write_classes if c != "none"]
    if need:
        text = (
            f"{' or '.join(_class_words(c) for c in need)}: the manager user's write= line in "
            "manager.conf must include one of them (or all)"
        )
    elif facts.name.lower() in ("login", "challenge", "logoff"):
        text = "none: allowed even before logging in"
    elif facts.write_classes:
        text = "none: any logged-in session may send it"
    else:
        text = "not stated by Asterisk's documentation (any logged-in session, if none is needed)"
    out = [("Write class", text)]
    if write is not None and not facts.allowed_by(write):
        shown = ",".join(sorted(class_names(write))) or "none"
        out.append(
            (
                "Missing class",
                f"{' or '.join(need)}: the login's write classes ({shown}) do not include it, "
                "so the server answers Permission denied",
            )
        )
    return out


def _explain_action(
    name: str, values: list[tuple[str, str]] | None, write: Classes = None
) -> Explanation:
    facts = ref.action_facts(name)
    canonical = facts.name if facts else name
    words = _words_for("actions", canonical)
    summary = (
        words.get("does") or "An action Asterisk does not document; amikit has no words for it."
    )
    params = [p for p in facts.params if p.name != "ActionID"] if facts else []
    if values is None:
        notes = tuple(
            FieldNote(p.name, _param_meaning(words, p.name), None, p.required) for p in params
        )
    else:
        notes = tuple(
            FieldNote(k, _param_meaning(words, k), mask_value(k, v))
            for k, v in values
            if k.lower() != "action"
        )
    sections: list[tuple[str, str]] = []
    if facts is not None:
        sections.extend(_write_sections(facts, write))
        required = ", ".join(facts.required) or "none"
        sections.append(("Required parameters", required))
        sections.append(("Returns", _returns(facts, words)))
    if words.get("example"):
        sections.append(("Example", words["example"]))
    return Explanation(
        name=canonical,
        kind="action",
        summary=summary,
        fields=notes,
        since=", ".join(dict.fromkeys(facts.since)) if facts and facts.since else None,
        documented_in=facts.file if facts else None,
        sections=tuple(sections),
    )


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
    return sorted(set(_event_index().values()) | set(ref.actions()))


def explain(
    name_or_message: str | Message | Mapping[str, Any],
    *,
    kind: Literal["event", "action"] | None = None,
    read: Classes = None,
    write: Classes = None,
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
    read, write : str or set of str, optional
        The read / write classes of a login (``"system,call"``, as in manager.conf, or an
        event mask). When the event's read class or the action's write class is not among
        them, the explanation gets a ``Missing class`` section saying which one is needed.

    Returns
    -------
    Explanation
        Renders as HTML in Jupyter and as text with ``print``. For a message, the fields it
        carries, each with its value (``Secret`` and ``Key`` masked) and meaning.

    Examples
    --------
    >>> print(explain("DialEnd").summary)
    A dial attempt is over. DialStatus says how: ANSWER (the callee picked up), BUSY, ...
    >>> explain("DestLinkedid").summary.startswith("the channel being dialled")
    True
    """
    if isinstance(name_or_message, Message):
        pairs = name_or_message.items()
        return _explain_pairs(pairs, name_or_message)
    if isinstance(name_or_message, Mapping):
        from ..record import message_pairs

        pairs = list(message_pairs(name_or_message))
        return _explain_pairs(pairs, Message.from_pairs(pairs))
    if not isinstance(name_or_message, str):
        msg = f"explain() takes an event/action/field name or a Message, not {name_or_message!r}"
        raise TypeError(msg)
    name = name_or_message.strip()
    is_event = name.lower() in _event_index()
    is_action = ref.action_facts(name) is not None
    if is_action and (kind == "action" or not is_event):
        return _explain_action(name, None, write)
    if is_event and kind != "action":
        return _explain_event(name, None, read)
    meaning = describe_field(name)
    if meaning:
        return Explanation(name=name, kind="field", summary=meaning, fields=_field_values(name))
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


def _field_values(name: str) -> tuple[FieldNote, ...]:
    """Every value amikit can name, for the fields whose values are codes (causes, states)."""
    low = name.lower()
    if low in ("cause", "hangupcause"):
        table = g.CAUSES
    elif low in ("channelstate", "channelstatedesc") or low.endswith("channelstate"):
        table = g.STATES
    else:
        return ()
    return tuple(FieldNote(code, table[code]) for code in sorted(table, key=int))


def _explain_pairs(pairs: Iterable[tuple[str, str]], msg: Message) -> Explanation:
    values = list(pairs)
    if msg.is_event:
        return _explain_event(msg.name, values)
    if msg.is_response:
        return _explain_response(values)
    return _explain_action(msg.get("Action") or "", values)
