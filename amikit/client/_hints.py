"""Hints before and after the PBX says no, from Asterisk's documented action facts.

Before sending, :func:`check` compares an action's headers with what Asterisk documents for
it (:mod:`amikit._reference`):

* a header the action does not document (``Chanel``) gives an :class:`AmiHint` warning that
  names the closest documented parameter; the action is still sent;
* a missing required parameter raises :class:`MissingParameterError` before anything is
  sent. ``check=False`` on ``action()`` skips both, for a custom module's action or a newer
  Asterisk than the facts describe.

After a ``Response: Error``, :func:`refusal_hint` reads the server's message: ``Invalid/unknown
command`` gets the closest documented action names, ``Permission denied`` the write classes
the action needs. The hint is added to the :class:`~amikit.ActionError` (``.hint``), or, when
the caller asked for the error response instead of an exception, given as an AmiHint warning.

Undocumented actions are never blocked and never warned about before sending: Asterisk
modules and dialplan (``UserEvent``) may add their own.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from .. import _reference as ref
from .._exceptions import ActionError, UsageError

__all__ = ["AmiHint", "MissingParameterError", "acall", "call", "check", "refusal_hint"]

R = TypeVar("R")
Pairs = Sequence[tuple[str, Any]]


class AmiHint(UserWarning):
    """amikit thinks an action is not what you meant (it is sent anyway)."""


class MissingParameterError(UsageError):
    """An action lacks a parameter Asterisk documents as required; nothing was sent.

    ``action`` is the action name, ``missing`` the names of the missing parameters.
    """

    def __init__(self, action: str, missing: Sequence[str]) -> None:
        names = ", ".join(missing)
        super().__init__(
            f"{action} needs {names} (required by Asterisk's documentation); nothing was sent. "
            f"Pass check=False to send it anyway (a custom or newer action)"
        )
        self.action = action
        self.missing = tuple(missing)


def check(name: str, pairs: Pairs, *, stacklevel: int = 2) -> None:
    """Warn about undocumented headers and raise on missing required ones (see module doc)."""
    facts = ref.action_facts(name)
    if facts is None:
        return
    given = [str(key) for key, _ in pairs]
    if not facts.open_ended:
        documented = [p.name for p in facts.params]
        for key in given:
            if key.lower() == "actionid" or facts.param(key) is not None:
                continue
            close = ref.closest(key, documented)
            advice = f"; did you mean {close[0]}?" if close else ""
            warnings.warn(
                f"{facts.name} does not document a parameter {key!r}{advice} "
                f"(documented: {', '.join(n for n in documented if n != 'ActionID') or 'none'}). "
                "Sent anyway; pass check=False to silence this for a custom or newer action",
                AmiHint,
                stacklevel=stacklevel + 1,
            )
    have = {key.lower() for key in given}
    missing = [p for p in facts.required if not any(_matches(facts, p, h) for h in have)]
    if missing:
        raise MissingParameterError(facts.name, missing)


def _matches(facts: ref.ActionFacts, param: str, header: str) -> bool:
    found = facts.param(header)
    return found is not None and found.name == param


def refusal_hint(name: str, message: str, *, concrete: bool = False) -> str:
    """What amikit knows about why the server refused action ``name`` (``""`` if nothing).

    ``concrete=True`` keeps only hints that name something (an action, a class): used for
    the warning given with an error response the caller asked to receive.
    """
    text = message.lower()
    if "invalid/unknown command" in text:
        facts = ref.action_facts(name)
        if facts is not None:
            return (
                f"{facts.name} is a documented Asterisk action ({facts.file}) that this server "
                "does not offer: is that module loaded?"
            )
        close = ref.closest(name, list(ref.actions()), n=3)
        if close:
            return f"did you mean {' or '.join(close)}? (closest documented actions)"
        if concrete:
            return ""
        return "no documented action is close: is the module that provides it loaded?"
    if "permission denied" in text:
        facts = ref.action_facts(name)
        need = [c for c in facts.write_classes if c != "none"] if facts else []
        if concrete and not need:
            return ""
        if facts is None:
            return "the manager user's write= classes (manager.conf) do not allow this action"
        if not need:
            return f"{facts.name} needs no write class: is the session logged in?"
        return (
            f"{facts.name} needs write class {' or '.join(need)}: the manager user's write= "
            "line in manager.conf has none of them"
        )
    return ""


def _hinted(name: str, exc: ActionError) -> ActionError:
    hint = refusal_hint(name, exc.message)
    if not hint:
        return exc
    better = ActionError(exc.action, exc.response, f"{exc.message} ({hint})")
    better.message = exc.message  # the server's own words stay as they were
    better.hint = hint  # type: ignore[attr-defined]
    return better


def _warn_reply(name: str, response: Any) -> None:
    if (response.get("Response") or "").lower() != "error":
        return
    hint = refusal_hint(name, response.get("Message") or "", concrete=True)
    if hint:
        warnings.warn(f"{name}: {response.get('Message')} ({hint})", AmiHint, stacklevel=4)


def call(name: str, pairs: Pairs, checked: bool, send: Callable[[Pairs], R]) -> R:
    """Check ``pairs``, ``send`` them, and add a hint to a refusal (sync face)."""
    if checked:
        check(name, pairs, stacklevel=3)
    try:
        response = send(pairs)
    except ActionError as exc:
        raise _hinted(name, exc) from None
    _warn_reply(name, response)
    return response


async def acall(name: str, pairs: Pairs, checked: bool, send: Callable[[Pairs], Awaitable[R]]) -> R:
    """Awaitable :func:`call`."""
    if checked:
        check(name, pairs, stacklevel=3)
    try:
        response = await send(pairs)
    except ActionError as exc:
        raise _hinted(name, exc) from None
    _warn_reply(name, response)
    return response
