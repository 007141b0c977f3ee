"""Simulated AMI peers for tests and demos, on 127.0.0.1 only.

:class:`AMIServer` speaks the real protocol with users, permissions and fault controls; the
simulated PBX builds on it through :meth:`AMIServer.register_action` and
:meth:`AMIServer.broadcast`.
"""

from __future__ import annotations

from ._server import AMIServer, ServerSession, User

__all__ = ["AMIServer", "ServerSession", "User"]

for _cls in (AMIServer, ServerSession, User):
    _cls.__module__ = "amikit.sim"
del _cls
