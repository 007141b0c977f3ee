"""The filter box language of the live widgets: event names with wildcards, and free text.

Rules (whitespace or commas separate terms; quotes group words)::

    Dial* Hangup          events named Dial-something OR Hangup
    -VarSet  !Newexten    never these names
    6001                  free text: 6001 appears in some field (case-insensitive)
    name:Foo  text:Dial   force a term to be a name pattern / free text
    "Normal Clearing"     a free-text phrase

A term with ``*``, ``?`` or ``[`` is a name pattern; so is a term spelled like a known event
(``hangup``). Name patterns are OR-ed; every free-text term must match (AND). The same
filter applies to live messages (:meth:`EventFilter.matches`) and to a recording frame
(:meth:`EventFilter.expr`), so the two views agree.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ..protocol import Message

if TYPE_CHECKING:
    import polars as pl

__all__ = ["EventFilter"]


@lru_cache(maxsize=1)
def _known_event_names() -> frozenset[str]:
    from ._explain import _event_index

    return frozenset(_event_index())


def _regex(patterns: tuple[str, ...]) -> str:
    # fnmatch.translate ends with \Z, which Rust's regex (polars) lacks: use the plain form.
    parts = [fnmatch.translate(p).replace(r"\Z", "$") for p in patterns]
    return "(?i)^(?:" + "|".join(parts) + ")"


@dataclass(frozen=True)
class EventFilter:
    """A parsed filter: included / excluded name patterns and free-text terms."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> EventFilter:
        """Parse the filter box text (see the module docstring)."""
        try:
            terms = shlex.split(text.replace(",", " "))
        except ValueError:  # an unbalanced quote while the user is still typing
            terms = text.replace(",", " ").replace('"', " ").replace("'", " ").split()
        include: list[str] = []
        exclude: list[str] = []
        words: list[str] = []
        known = _known_event_names()
        for term in terms:
            if term[:1] in "-!" and len(term) > 1:
                exclude.append(term[1:])
            elif term.lower().startswith("name:") and len(term) > 5:
                include.append(term[5:])
            elif term.lower().startswith("text:") and len(term) > 5:
                words.append(term[5:].lower())
            elif any(c in term for c in "*?[") or term.lower() in known:
                include.append(term)
            else:
                words.append(term.lower())
        return cls(tuple(include), tuple(exclude), tuple(words))

    @property
    def is_empty(self) -> bool:
        return not (self.include or self.exclude or self.words)

    @property
    def _include_re(self) -> re.Pattern[str] | None:
        return _compiled(self.include)

    @property
    def _exclude_re(self) -> re.Pattern[str] | None:
        return _compiled(self.exclude)

    def matches_name(self, name: str) -> bool:
        """Whether an event name passes the name terms."""
        inc, exc = self._include_re, self._exclude_re
        if inc is not None and not inc.match(name):
            return False
        return not (exc is not None and exc.match(name))

    def matches(self, msg: Message) -> bool:
        """Whether a message passes the filter."""
        if not self.matches_name(msg.name):
            return False
        if self.words:
            text = msg.raw.decode("utf-8", "replace").lower()
            return all(word in text for word in self.words)
        return True

    def expr(self, columns: list[str]) -> pl.Expr:
        """The same filter as a polars expression over an events frame with ``columns``."""
        import polars as pl

        cond = pl.lit(True)
        if self.include:
            cond = cond & pl.col("event").fill_null("").str.contains(_regex(self.include))
        if self.exclude:
            cond = cond & ~pl.col("event").fill_null("").str.contains(_regex(self.exclude))
        if self.words:
            parts: list[pl.Expr] = [pl.col("event").fill_null("")]
            skip = {"received_at", "timestamp", "connection", "seq", "extra", "event"}
            parts += [pl.col(c).cast(pl.String).fill_null("") for c in columns if c not in skip]
            if "extra" in columns:
                parts.append(
                    pl.col("extra")
                    .list.eval(pl.element().struct.field("value"))
                    .list.join(" ")
                    .fill_null("")
                )
            text = pl.concat_str(parts, separator="\x1f").str.to_lowercase()
            for word in self.words:
                cond = cond & text.str.contains(word, literal=True)
        return cond


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile(_regex(patterns))
