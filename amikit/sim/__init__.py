"""Simulated AMI peers for tests and demos, on 127.0.0.1 only.

:class:`AMIServer` speaks the real protocol with users, permissions and fault controls; the
simulated PBX builds on it through :meth:`AMIServer.register_action` and
:meth:`AMIServer.broadcast`: :class:`PBX` is a simulated Asterisk 22 (its scenarios are
derived from real captures), and :func:`replay` serves a recorded capture in real time or
faster.
"""

from __future__ import annotations

from ._pbx import PBX
from ._replay import Replay, replay
from ._server import AMIServer, ServerSession, User

__all__ = ["PBX", "AMIServer", "Replay", "ServerSession", "User", "replay"]

for _cls in (AMIServer, ServerSession, User, PBX, Replay):
    _cls.__module__ = "amikit.sim"
del _cls
