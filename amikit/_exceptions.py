"""Every error amikit raises, in one place.

::

    AmiError
    ├── ProtocolError              bytes that are not valid AMI (never raised directly)
    │   ├── LocalProtocolError     we were about to send something invalid (also a ValueError)
    │   └── RemoteProtocolError    the peer sent something we cannot use
    ├── TransportError
    │   ├── ConnectError           could not open the connection (refused, TLS failure, ...)
    │   ├── ConnectionLost         the connection went away; pending actions fail with this
    │   └── AmiTimeout             an operation ran out of time (also a builtin TimeoutError)
    ├── AuthenticationError        the server refused the login
    ├── ActionError                ``Response: Error`` to an action
    └── UsageError                 the API was used wrongly (also a RuntimeError)

The codec (:mod:`amikit.protocol`) raises only the ProtocolError family. Errors carry what a
handler needs as attributes (``.messages``, ``.action``, ``.response``) and never a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocol import Message

__all__ = [
    "ActionError",
    "AmiError",
    "AmiTimeout",
    "AuthenticationError",
    "ConnectError",
    "ConnectionLost",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "TransportError",
    "UsageError",
]


class AmiError(Exception):
    """Base class of every error raised by amikit."""


class ProtocolError(AmiError):
    """Bytes that are not valid AMI. Catch this; amikit raises only its two subclasses.

    ``messages`` holds the messages that were decoded in the same call before (or after)
    the bad frame, so that nothing already received is lost when the error is raised.
    """

    def __init__(self, msg: str, *, messages: list[Message] | None = None) -> None:
        if type(self) is ProtocolError:
            raise TypeError("raise LocalProtocolError or RemoteProtocolError, not ProtocolError")
        super().__init__(msg)
        self.messages: list[Message] = list(messages or [])


class LocalProtocolError(ProtocolError, ValueError):
    """We were about to send something that is not valid AMI (e.g. a CR or LF in a value).

    >>> from amikit.protocol import encode_action
    >>> encode_action("Originate", Channel="PJSIP/100\\r\\nAction: Hangup")
    Traceback (most recent call last):
    ...
    amikit.LocalProtocolError: value of 'Channel' contains CR or LF (header injection)
    """


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes we cannot use: an oversized frame, a frame with no header, ...

    The parser skips the bad frame and goes on at the next frame boundary.
    """


class TransportError(AmiError):
    """The connection itself failed."""


class ConnectError(TransportError):
    """The connection could not be opened (refused, unreachable, TLS handshake failed)."""


class ConnectionLost(TransportError):
    """The connection was lost. Actions still waiting for a response fail with this."""


class AmiTimeout(TransportError, TimeoutError):
    """An operation did not finish in time (connect, action, ping reply)."""


class AuthenticationError(AmiError):
    """The server refused the login. ``message`` is the server's own text.

    The secret is never part of the exception.
    """

    def __init__(self, message: str, *, username: str | None = None) -> None:
        who = f" for user {username!r}" if username else ""
        super().__init__(f"login refused{who}: {message}")
        self.message = message
        self.username = username


class ActionError(AmiError):
    """The server answered an action with ``Response: Error``.

    ``action`` is the action name, ``response`` the whole response :class:`~amikit.Message`
    and ``message`` the server's ``Message:`` text.
    """

    def __init__(self, action: str, response: Any, message: str | None = None) -> None:
        text = message if message is not None else (response.get("Message") or "")
        super().__init__(f"{action} failed: {text}" if text else f"{action} failed")
        self.action = action
        self.response = response
        self.message = text


class UsageError(AmiError, RuntimeError):
    """amikit was used in a way that cannot work (closed client, wrong thread, ...)."""


for _cls in (
    AmiError,
    ProtocolError,
    LocalProtocolError,
    RemoteProtocolError,
    TransportError,
    ConnectError,
    ConnectionLost,
    AmiTimeout,
    AuthenticationError,
    ActionError,
    UsageError,
):
    _cls.__module__ = "amikit"
del _cls
