"""Tab completion of AMI action names and parameters in IPython / Jupyter.

Where it completes (the cursor is at ``|``)::

    %ami action Orig|                 -> Originate, ...          (documented action names)
    %ami action Originate Cha|        -> Channel=                (its documented parameters)
    %ami help Dial|                   -> DialBegin, DialEnd, ... (events and actions)
    %ami |                            -> the subcommands
    ami.action("Orig|                 -> Originate               (any .action / .aaction call)
    ami.action("Originate", Cha|      -> Channel=
    %%ami cell: "Action: Orig|"       -> Originate; on the next lines "Cha|" -> "Channel: "

One API-v2 matcher (:func:`amikit_matcher`) is added to the shell's completer by
``%load_ext amikit``. :func:`complete` is the pure part (text before the cursor in, the
fragment to replace and its completions out) so that it can be tested without a shell. The
names come from :mod:`amikit._reference`, Asterisk's documented actions and events.
"""

from __future__ import annotations

import re
from typing import Any

from .. import _reference as ref

__all__ = ["amikit_matcher", "complete", "install_completer", "uninstall_completer"]

SUBCOMMANDS = ("action", "calls", "close", "connect", "events", "help", "record", "sim", "status",
               "timeline")  # fmt: skip

_CALL_NAME = re.compile(r"""\.a?action\(\s*(?P<q>["'])(?P<frag>[\w-]*)$""")
_CALL_PARAM = re.compile(
    r"""\.a?action\(\s*(?P<q>["'])(?P<name>[\w-]+)(?P=q)\s*,(?P<rest>[^()]*?)(?P<frag>[\w-]*)$"""
)
_GIVEN_KW = re.compile(r"([\w-]+)\s*=")


def _starting(fragment: str, names: list[str]) -> list[str]:
    low = fragment.lower()
    return sorted((n for n in names if n.lower().startswith(low)), key=str.lower)


def _params(action: str, given: set[str], suffix: str, fragment: str) -> list[str]:
    facts = ref.action_facts(action)
    if facts is None:
        return []
    names = [p.name for p in facts.params if p.name.lower() not in given]
    names = [n for n in names if n not in ("HeaderN", "Header1")]
    return [n + suffix for n in _starting(fragment, names)]


def _magic_line(words: list[str], fragment: str) -> list[str]:
    """Completions for ``%ami ...``: ``words`` are the complete words before ``fragment``."""
    if not words:
        return _starting(fragment, list(SUBCOMMANDS))
    sub = words[0]
    if sub == "help" and len(words) == 1:
        return _starting(fragment, sorted(set(ref.actions()) | set(ref.events())))
    if sub != "action":
        return []
    if len(words) == 1:
        return _starting(fragment, list(ref.actions()))
    given = {w.partition("=")[0].lower() for w in words[2:]}
    return _params(words[1], given, "=", fragment)


def _cell(full_text: str, line_before: str) -> list[str] | None:
    """Completions inside a ``%%ami`` cell: action names after ``Action:``, else parameters."""
    head = line_before.lstrip()
    match = re.match(r"(?i)action:\s*([\w-]*)$", head)
    if match:
        return _starting(match.group(1), list(ref.actions()))
    if ":" in head or not re.fullmatch(r"[\w-]*", head):
        return []
    before = full_text[: full_text.rfind(line_before)] if line_before else full_text
    blocks = re.split(r"\n\s*\n", before)
    found = re.findall(r"(?im)^\s*action:\s*([\w-]+)", blocks[-1] if blocks else "")
    if not found:
        return []
    given = {k.lower() for k in re.findall(r"(?m)^\s*([\w-]+)\s*:", blocks[-1])}
    return _params(found[-1], given, ": ", head)


def complete(text_until_cursor: str, full_text: str | None = None) -> tuple[str, list[str]] | None:
    """The fragment before the cursor and its completions, or None when amikit has nothing.

    ``text_until_cursor`` is the current line up to the cursor; ``full_text`` the whole cell
    (needed only inside a ``%%ami`` cell).
    """
    full = text_until_cursor if full_text is None else full_text
    if full.lstrip().startswith("%%ami") and not text_until_cursor.lstrip().startswith("%%ami"):
        fragment = re.search(r"[\w-]*$", text_until_cursor).group(0)  # type: ignore[union-attr]
        found = _cell(full, text_until_cursor)
        return (fragment, found) if found else None
    stripped = text_until_cursor.lstrip()
    if stripped.startswith("%ami ") or stripped == "%ami":
        rest = stripped[len("%ami") :]
        fragment = "" if rest.endswith((" ", "\t")) or not rest.strip() else rest.split()[-1]
        words = rest.split()
        if fragment:
            words = words[:-1]
        found = _magic_line(words, fragment)
        return (fragment, found) if found else None
    match = _CALL_NAME.search(text_until_cursor)
    if match:
        found = _starting(match.group("frag"), list(ref.actions()))
        return (match.group("frag"), found) if found else None
    match = _CALL_PARAM.search(text_until_cursor)
    if match:
        given = {k.lower() for k in _GIVEN_KW.findall(match.group("rest"))}
        found = _params(match.group("name"), given, "=", match.group("frag"))
        return (match.group("frag"), found) if found else None
    return None


def amikit_matcher(context: Any) -> dict[str, Any]:
    """IPython matcher (API v2): amikit's completions, suppressing others when it has some."""
    from IPython.core.completer import SimpleCompletion

    result = complete(context.text_until_cursor, context.full_text)
    if result is None:
        return {"completions": [], "suppress": False}
    fragment, names = result
    return {
        "completions": [SimpleCompletion(n, type="amikit") for n in names],
        "matched_fragment": fragment,
        "suppress": True,
    }


amikit_matcher.matcher_api_version = 2  # type: ignore[attr-defined]
amikit_matcher.matcher_identifier = "amikit"  # type: ignore[attr-defined]
amikit_matcher.matcher_priority = 10  # type: ignore[attr-defined]


def install_completer(ipython: Any) -> None:
    """Add :func:`amikit_matcher` to the shell's completer (once)."""
    matchers = ipython.Completer.custom_matchers
    if amikit_matcher not in matchers:
        matchers.append(amikit_matcher)


def uninstall_completer(ipython: Any) -> None:
    """Remove :func:`amikit_matcher` from the shell's completer."""
    matchers = ipython.Completer.custom_matchers
    if amikit_matcher in matchers:
        matchers.remove(amikit_matcher)


def help_topic(words: list[str]) -> Any:
    """``%ami help NAME [event|action]``: the :func:`~amikit.explain` of NAME."""
    from ._explain import explain

    if not words:
        return explain("Originate")  # a worked example; %ami? lists the subcommands
    kind = words[1].lower() if len(words) > 1 and words[1].lower() in ("event", "action") else None
    return explain(words[0], kind=kind)  # type: ignore[arg-type]
