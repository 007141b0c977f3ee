"""Messages to bytes: actions for a client, events and responses for a server.

Rule 1: CRLF line ends, an empty line after the last header.
Rule 2: order is kept and a key may repeat (several ``Variable`` headers in ``Originate``):
        pass a list or tuple as the value, or a sequence of pairs as ``fields``.
Rule 3: a CR or LF in any key or value is refused (header injection), and so is a colon in
        a key, except in the legacy ``ChanVariable(<channel>)`` form, and a key with an
        unclosed ``(`` (a reader would take the legacy form's rule for it and misread it).
        Text that is not valid Unicode (lone surrogates) is refused too: it has no UTF-8.
Rule 4: the bytes returned keep the secret out of their ``repr()`` and ``str()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from .._exceptions import LocalProtocolError
from ._message import mask_value

__all__ = ["EncodedAction", "encode_action", "encode_message", "login_key"]

Fields = Mapping[str, Any] | Iterable[tuple[str, Any]]


class EncodedAction(bytes):
    """The wire bytes of a message; ``repr()``/``str()`` mask ``Secret`` and ``Key`` values."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"EncodedAction({_masked_text(self)!r})"

    __str__ = __repr__


def _masked_text(data: bytes) -> str:
    lines = []
    for line in data.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        lines.append(f"{key}: {mask_value(key, value.strip())}" if sep else line)
    return "\r\n".join(lines)


def _text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    raise LocalProtocolError(
        f"value of {key!r} must be str, int, float or bool, not {type(value).__name__}"
    )


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key or key.strip() != key:
        raise LocalProtocolError(f"invalid header name {key!r}")
    if "\r" in key or "\n" in key:
        raise LocalProtocolError(f"header name {key!r} contains CR or LF (header injection)")
    if ":" in key and not (key.endswith(")") and "(" in key and ":" not in key[: key.find("(")]):
        raise LocalProtocolError(f"header name {key!r} contains a colon")
    if "(" in key and ")" not in key:
        raise LocalProtocolError(f"header name {key!r} has an unclosed parenthesis")


def _pairs(fields: Fields | None) -> Iterable[tuple[str, Any]]:
    if fields is None:
        return ()
    if isinstance(fields, Mapping):
        return fields.items()
    return fields


def encode_message(pairs: Iterable[tuple[str, Any]]) -> EncodedAction:
    """Encode ``(key, value)`` pairs as one CRLF-framed AMI message.

    A list or tuple value is written as one header per element; ``None`` values are left out.
    The result is ``bytes`` whose ``repr()`` masks ``Secret`` and ``Key`` values.

    >>> bytes(encode_message([("Event", "UserEvent"), ("UserEvent", "Hi")]))
    b'Event: UserEvent\\r\\nUserEvent: Hi\\r\\n\\r\\n'
    """
    out: list[str] = []
    for key, value in pairs:
        _check_key(key)
        values = value if isinstance(value, (list, tuple)) else (value,)
        for v in values:
            if v is None:
                continue
            text = _text(key, v)
            if "\r" in text or "\n" in text:
                raise LocalProtocolError(f"value of {key!r} contains CR or LF (header injection)")
            out.append(f"{key}: {text}\r\n")
    if not out:
        raise LocalProtocolError("a message needs at least one header")
    out.append("\r\n")
    try:
        return EncodedAction("".join(out).encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"a key or value is not valid Unicode: {exc.reason}") from None


def encode_action(
    name: str,
    fields: Fields | None = None,
    action_id: str | None = None,
    **kw: Any,
) -> EncodedAction:
    """Encode the action ``name`` with its fields, ready to write to the socket.

    Parameters
    ----------
    name : str
        The action, e.g. ``"Originate"``.
    fields : mapping or sequence of pairs, optional
        Headers in order; a list value repeats the header.
    action_id : str, optional
        Written right after ``Action:``. An ``ActionID`` inside ``fields`` is kept as is.
    **kw
        More headers; the keyword is the header name (``Async=True``).

    Raises
    ------
    LocalProtocolError
        A key or value holds CR or LF, a key is malformed, or a value has an unusable type.

    Examples
    --------
    >>> encode_action("Originate", {"Variable": ["A=1", "B=2"]}, action_id="7", Async=True)
    EncodedAction('Action: Originate\\r\\nActionID: 7\\r\\nVariable: A=1\\r\\nVariable: B=2\\r\\nAsync: true\\r\\n\\r\\n')
    >>> encode_action("Login", Username="admin", Secret="s3cret")
    EncodedAction('Action: Login\\r\\nUsername: admin\\r\\nSecret: ********\\r\\n\\r\\n')
    """  # noqa: E501
    pairs: list[tuple[str, Any]] = [("Action", name)]
    if action_id is not None:
        pairs.append(("ActionID", action_id))
    pairs.extend(_pairs(fields))
    pairs.extend(kw.items())
    return encode_message(pairs)


def login_key(challenge: str, secret: str) -> str:
    """The ``Key`` of an ``AuthType: MD5`` login: hex MD5 of the challenge then the secret."""
    return hashlib.md5((challenge + secret).encode()).hexdigest()
