"""Who may see an event: the test server's class lists, event masks and event filters.

Strategy
--------
Asterisk's ``manager.c`` decides per session whether an event goes out, and so does
:class:`~amikit.sim.AMIServer`, with the rules gathered here:

* a user's ``read`` / ``write`` lists (manager.conf) and a session's event mask (the
  ``Events`` action, or ``Events:`` at login) are class lists; ``all`` stands for every class
  of :data:`CLASSES` (:func:`parse_classes`, :func:`event_mask`);
* an event is wanted only when the read list *and* the event mask hold every class of its
  ``Privilege:`` header (that check is :meth:`~amikit.sim.ServerSession.wants`);
* then the session's filters decide (``Filter`` action: legacy regex filters, ``!`` to
  exclude, and the newer ``MatchCriteria`` form), include-first then exclude
  (:func:`build_filter`, :func:`passes_filters`).

Nothing here touches a socket: the server's sessions and its built-in ``Events`` and
``Filter`` actions call these functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .._privilege import class_names
from ..protocol import Message

__all__ = [
    "CLASSES",
    "EventFilter",
    "build_filter",
    "event_mask",
    "parse_classes",
    "passes_filters",
]

#: The event/permission classes of manager.conf (``all`` means every one of them).
CLASSES = frozenset(
    {
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    }
)

_METHODS = ("regex", "exact", "starts_with", "ends_with", "contains", "none")


def parse_classes(text: str | None) -> frozenset[str]:
    """``"system,call"`` -> ``{"system", "call"}``; ``all`` expands; unknown names are kept."""
    names = set(class_names(text or ""))
    if "all" in names:
        names.discard("all")
        names |= CLASSES
    return frozenset(names)


def event_mask(text: str) -> frozenset[str]:
    """An ``Events``/``EventMask`` value as classes: on/off words, or a class list.

    Raises ValueError on a class manager.conf does not know (Asterisk refuses the mask).
    """
    low = text.strip().lower()
    if low in ("on", "yes", "true", "1", "all"):
        return CLASSES
    if low in ("off", "no", "false", "0", ""):
        return frozenset()
    classes = parse_classes(low)
    unknown = classes - CLASSES
    if unknown:
        raise ValueError(f"Invalid event mask: {', '.join(sorted(unknown))}")
    return classes


@dataclass
class EventFilter:
    """One filter a session added with the ``Filter`` action."""

    include: bool
    value: str
    regex: re.Pattern[str] | None = None
    name: str | None = None
    header: str | None = None
    method: str = "regex"

    def matches(self, msg: Message, text: str) -> bool:
        if self.name is not None and (msg.get("Event") or "") != self.name:
            return False
        subject = text if self.header is None else msg.get(self.header)
        if subject is None:
            return False
        method = self.method
        if method == "none":
            return True
        if method == "exact":
            return subject == self.value
        if method == "starts_with":
            return subject.startswith(self.value)
        if method == "ends_with":
            return subject.endswith(self.value)
        if method == "contains":
            return self.value in subject
        assert self.regex is not None
        return self.regex.search(subject) is not None


def _parse_match_criteria(criteria: str) -> dict[str, str]:
    """``"action(exclude),name(Newexten),header(Context),method(exact)"`` -> dict."""
    out: dict[str, str] = {}
    for part in re.finditer(r"\s*(\w+)\(([^)]*)\)\s*,?", criteria):
        out[part.group(1).lower()] = part.group(2)
    if not out and criteria.strip():
        raise ValueError(f"MatchCriteria not understood: {criteria!r}")
    return out


def build_filter(value: str | None, criteria_text: str | None) -> EventFilter:
    """The filter of a ``Filter`` action's ``Filter`` and ``MatchCriteria`` headers.

    Raises ValueError with the message the server answers when the action is refused.
    """
    if value is None and criteria_text is None:
        raise ValueError("Filter or MatchCriteria is required")
    value = value or ""
    include = True
    if criteria_text is None and value.startswith("!"):
        include, value = False, value[1:]
    flt = EventFilter(include=include, value=value)
    if criteria_text is not None:
        criteria = _parse_match_criteria(criteria_text)
        flt.include = criteria.get("action", "include").lower() != "exclude"
        flt.name = criteria.get("name") or None
        flt.header = criteria.get("header") or None
        flt.method = criteria.get("method", "regex" if value else "none").lower()
        if flt.method not in _METHODS:
            raise ValueError(f"Unknown method {flt.method}")
    if flt.method == "regex":
        try:
            flt.regex = re.compile(value)
        except re.error:
            raise ValueError(
                "Filter did not compile.  Check the syntax of the filter given."
            ) from None
    return flt


def passes_filters(filters: Sequence[EventFilter], msg: Message, text: str) -> bool:
    """Whether ``msg`` (whose frame reads ``text``) passes a session's filters.

    As ``manager.c``: with include filters, one must match; then no exclude filter may.
    """
    includes = [f for f in filters if f.include]
    if includes and not any(f.matches(msg, text) for f in includes):
        return False
    return not any(f.matches(msg, text) for f in filters if not f.include)
