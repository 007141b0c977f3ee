"""amikit: see what your Asterisk PBX does.

``import amikit`` is light: the codec and the error classes load now; the client, the
simulator, polars-based recording and analysis, and the Jupyter layer load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._exceptions import (
    ActionError,
    AmiError,
    AmiTimeout,
    AuthenticationError,
    ConnectError,
    ConnectionLost,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    TransportError,
    UsageError,
)
from ._lazy import lazy_attributes
from .protocol import Message

__version__ = "0.1.0"

# name -> module that defines it; imported on first attribute access (PEP 562).
_LAZY: dict[str, str] = {
    "AMIClient": "amikit.client",
    "Recorder": "amikit.record",
    "load": "amikit.record",
    "scan": "amikit.record",
    "explain": "amikit.jupyter",
    "CallTracker": "amikit.analysis",
    "Collapser": "amikit.analysis",
    "calls": "amikit.analysis",
    "changes": "amikit.analysis",
    "collapse": "amikit.analysis",
    "drop_noise": "amikit.analysis",
    "event_rate": "amikit.analysis",
    "fold_dialplan": "amikit.analysis",
    "ladder": "amikit.analysis",
    "stats": "amikit.analysis",
    "timeline": "amikit.analysis",
    "with_call_id": "amikit.analysis",
}

if TYPE_CHECKING:
    from .analysis import (
        CallTracker,
        Collapser,
        calls,
        changes,
        collapse,
        drop_noise,
        event_rate,
        fold_dialplan,
        ladder,
        stats,
        timeline,
        with_call_id,
    )
    from .client import AMIClient
    from .jupyter import explain
    from .record import Recorder, load, scan

__all__ = [
    "AMIClient",
    "ActionError",
    "AmiError",
    "AmiTimeout",
    "AuthenticationError",
    "CallTracker",
    "Collapser",
    "ConnectError",
    "ConnectionLost",
    "LocalProtocolError",
    "Message",
    "ProtocolError",
    "Recorder",
    "RemoteProtocolError",
    "TransportError",
    "UsageError",
    "__version__",
    "calls",
    "changes",
    "collapse",
    "drop_noise",
    "event_rate",
    "explain",
    "fold_dialplan",
    "ladder",
    "load",
    "scan",
    "stats",
    "timeline",
    "with_call_id",
]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext amikit``: register the ``%ami`` magics."""
    from .jupyter._magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext amikit``: close the magics' client and simulator."""
    from .jupyter._magics import unload_ipython_extension as _unload

    _unload(ipython)
