"""AMI class lists (``Privilege: call,all``, manager.conf ``read = system,call``), in one place.

An event's ``Privilege:`` header, a manager user's ``read`` / ``write`` lists, an event mask
and an action's documented write classes are all the same thing on the wire: a comma-separated,
case-insensitive list of class names. The documented facts (:mod:`amikit._reference`) and the
simulated server (:mod:`amikit.sim`) both read such lists, so the rule lives below both of them
and they cannot disagree on what a class list holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

__all__ = ["class_names", "privilege_classes"]


def class_names(classes: str | Iterable[str]) -> frozenset[str]:
    """``"System, call,"`` -> ``{"system", "call"}``: stripped, lower case, no empty names.

    ``classes`` is the comma-separated text or names already split; ``all`` is kept as a name
    (what it stands for depends on who reads the list).
    """
    if isinstance(classes, str):
        classes = classes.split(",")
    return frozenset(c.strip().lower() for c in classes if c.strip())


@lru_cache(maxsize=64)
def privilege_classes(text: str | None) -> frozenset[str]:
    """An event's ``Privilege: call,all`` -> ``{"call"}``: the classes a reader must hold.

    Asterisk appends ``all`` to every event's list; it adds no requirement, so it is dropped.
    Cached: a flood sends the same few headers many thousand times a second.
    """
    return class_names(text or "") - {"all"}
