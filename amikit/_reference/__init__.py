"""Facts about AMI actions and events, from Asterisk's own documentation (see SOURCE.md).

Which actions exist, their parameters (and which are required), the write classes that allow
them and the events of their list responses; which events exist, their read class and their
fields. Facts only: the words that explain them are the Jupyter layer's (``amikit.explain``).

This package sits below the client so that the client can hint before the PBX says no
(:mod:`amikit.client._hints`). The JSON loads on first use: ``import amikit`` stays light.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .._privilege import class_names

__all__ = [
    "ActionFacts",
    "EventFacts",
    "Param",
    "action_facts",
    "actions",
    "closest",
    "event_facts",
    "events",
]


@dataclass(frozen=True)
class Param:
    """One documented parameter of an action."""

    name: str
    required: bool

    def matches(self, header: str) -> bool:
        """True if ``header`` is this parameter, case-insensitively.

        Numbered families are documented with one example name: ``Action-000000`` stands for
        ``Action-000001``..., ``UnitAmount(0)`` for ``UnitAmount(1)``..., ``HeaderN`` for any
        extra header.
        """
        return _param_pattern(self.name).fullmatch(header) is not None


@dataclass(frozen=True)
class ActionFacts:
    """What Asterisk documents about one action."""

    name: str
    params: tuple[Param, ...]
    write_classes: tuple[str, ...]
    list_events: tuple[str, ...]
    since: tuple[str, ...]
    file: str

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required parameters (ActionID is never required)."""
        return tuple(p.name for p in self.params if p.required and p.name != "ActionID")

    def param(self, header: str) -> Param | None:
        """The documented parameter ``header`` is (any case), or None."""
        return next((p for p in self.params if p.matches(header)), None)

    @property
    def open_ended(self) -> bool:
        """True when the action passes any extra header through (UserEvent's ``HeaderN``)."""
        return any(p.name == "HeaderN" for p in self.params)

    def allowed_by(self, classes: str | set[str] | frozenset[str]) -> bool:
        """True if a login with these write classes may send this action.

        One of the action's classes is enough (manager.c checks ``writeperm & authority``);
        ``all`` allows everything, and an action documented with no class (or ``none``)
        needs nothing.
        """
        have = class_names(classes)
        need = {c for c in self.write_classes if c != "none"}
        return not need or "all" in have or bool(need & have)


@dataclass(frozen=True)
class EventFacts:
    """What Asterisk documents about one event."""

    name: str
    read_class: str | None
    params: tuple[str, ...]
    channel_snapshots: tuple[str, ...]
    bridge_snapshots: tuple[str, ...]
    since: tuple[str, ...]
    file: str
    variants: tuple[Mapping[str, Any], ...]

    def allowed_by(self, classes: str | set[str] | frozenset[str]) -> bool:
        """True if a login (or an event mask) with these read classes receives this event."""
        have = class_names(classes)
        return self.read_class is None or "all" in have or "on" in have or self.read_class in have


@lru_cache(maxsize=256)
def _param_pattern(name: str) -> re.Pattern[str]:
    if name == "HeaderN":
        return re.compile(r".+")
    text = re.escape(name)
    text = re.sub(r"0{6}", r"\\d{6}", text)  # Action-000000 -> Action-\d{6}
    text = text.replace(r"\(0\)", r"\(\d+\)")  # UnitAmount(0) -> UnitAmount(\d+)
    if name.endswith("1") and name[:-1].isalpha():  # Header1
        text = text[:-1] + r"\d+"
    return re.compile(text, re.IGNORECASE)


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads(resources.files(__name__).joinpath(name).read_text()))


@lru_cache(maxsize=1)
def actions() -> Mapping[str, ActionFacts]:
    """Every documented action, by its documented spelling (154 for Asterisk 22.10.1)."""
    table: dict[str, ActionFacts] = {}
    for name, raw in _load("ami-actions.json").items():
        table[name] = ActionFacts(
            name=name,
            params=tuple(Param(p["name"], bool(p["required"])) for p in raw["params"]),
            write_classes=tuple(raw.get("write_class") or ()),
            list_events=tuple(raw.get("list_events") or ()),
            since=tuple(raw.get("since") or ()),
            file=raw.get("file", ""),
        )
    return table


@lru_cache(maxsize=1)
def events() -> Mapping[str, EventFacts]:
    """Every documented event, by its documented spelling (181)."""
    table: dict[str, EventFacts] = {}
    for name, variants in _load("ami-events.json").items():
        first = variants[0]
        cls = first.get("cls")
        table[name] = EventFacts(
            name=name,
            read_class=cls.removeprefix("EVENT_FLAG_").lower() if cls else None,
            params=tuple(dict.fromkeys(p for v in variants for p in v.get("params", []))),
            channel_snapshots=tuple(first.get("channel_snapshots", [])),
            bridge_snapshots=tuple(first.get("bridge_snapshots", [])),
            since=tuple(first.get("since", [])),
            file=first.get("file", ""),
            variants=tuple(variants),
        )
    return table


@lru_cache(maxsize=1)
def _lower(kind: str) -> dict[str, str]:
    table = actions() if kind == "action" else events()
    return {name.lower(): name for name in table}


def action_facts(name: str) -> ActionFacts | None:
    """The facts of action ``name`` (any case), or None for an undocumented action."""
    canonical = _lower("action").get(name.strip().lower())
    return actions()[canonical] if canonical else None


def event_facts(name: str) -> EventFacts | None:
    """The facts of event ``name`` (any case), or None for an undocumented event."""
    canonical = _lower("event").get(name.strip().lower())
    return events()[canonical] if canonical else None


def closest(name: str, candidates: list[str] | tuple[str, ...], n: int = 1) -> list[str]:
    """The documented names closest to ``name`` (a typo, a wrong case), best first.

    Case is ignored. When nothing is close by spelling, a candidate that contains ``name``
    (or is contained in it) is offered, e.g. ``Chan`` -> ``Channel``.
    """
    by_lower = {c.lower(): c for c in candidates}
    low = name.strip().lower()
    found = difflib.get_close_matches(low, list(by_lower), n=n, cutoff=0.6)
    if not found and low:
        found = [c for c in by_lower if low in c or (len(c) > 3 and c in low)][:n]
    return [by_lower[f] for f in found]
