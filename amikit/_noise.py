"""Which AMI events are noise when reading calls: one definition for every layer.

``amikit.analysis.drop_noise`` (batch, polars), ``amikit tail --fold-noise``, the demo and the
Jupyter widgets (live, one message at a time) all read this module. It is pure Python, so the
light layers (the CLI, ``amikit.explain``) can use it without loading polars. Event names are
case-sensitive in AMI (manager.conf: "Event names are case-sensitive"); a trailing ``*`` is a
prefix (``RTCP*``). VarSet and Newexten alone are 85-92 % of real traffic (docs/protocol.md §3.3).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

__all__ = ["NOISE_EVENTS", "SECURITY_EVENTS", "is_noise"]

#: Security events (class ``security``; ``main/security_events.c``).
SECURITY_EVENTS: frozenset[str] = frozenset(
    {
        "SuccessfulAuth",
        "ChallengeSent",
        "FailedACL",
        "InvalidAccountID",
        "InvalidPassword",
        "ChallengeResponseFailed",
        "RequestNotAllowed",
        "RequestNotSupported",
        "RequestBadFormat",
        "SessionLimit",
        "UnexpectedAddress",
        "AuthMethodNotAllowed",
        "InvalidTransport",
        "LoadAverageLimit",
        "MemoryLimit",
        "SessionTimeout",
    }
)

#: What ``drop_noise`` drops by default: dialplan execution (``VarSet``, ``Newexten``),
#: RTCP reports (every ``RTCP*`` event), device/extension/presence/peer/contact/
#: registration state, queue member state, security events, and the CDR/CEL records
#: (``Cdr``, ``CEL``: reports that restate the call events). Call-model events (channels,
#: dials, bridges, transfers, queues' caller events, hangups) are never in it.
NOISE_EVENTS: frozenset[str] = frozenset(
    {
        "VarSet",
        "Newexten",
        "RTCP*",
        "DeviceStateChange",
        "ExtensionStatus",
        "PresenceStateChange",
        "PresenceStatus",
        "PeerStatus",
        "ContactStatus",
        "Registry",
        "QueueMemberStatus",
        "Cdr",
        "CEL",
        *SECURITY_EVENTS,
    }
)


def _matches_name(name: str, names: Iterable[str]) -> bool:
    return any(name.startswith(n[:-1]) if n.endswith("*") else name == n for n in names)


def is_noise(name: str | None, extra: Iterable[str] = (), keep: Iterable[str] = ()) -> bool:
    """True for an event name ``drop_noise`` would drop (the live form, one message).

    The same rule and the same :data:`NOISE_EVENTS` as ``amikit.analysis.drop_noise``, for
    ``amikit tail --fold-noise``, the demo and live views.

    >>> is_noise("VarSet"), is_noise("RTCPSent"), is_noise("Hangup")
    (True, True, False)
    >>> is_noise("Newexten", keep=["Newexten"])
    False
    """
    if not name:
        return False
    if not extra and not keep:  # the live hot path: one cached answer per event name
        return _is_default_noise(name)
    keep = tuple(keep)
    names = [n for n in (*NOISE_EVENTS, *extra) if n not in keep]
    return _matches_name(name, names) and not (keep and _matches_name(name, keep))


@lru_cache(maxsize=4096)
def _is_default_noise(name: str) -> bool:
    return _matches_name(name, NOISE_EVENTS)
