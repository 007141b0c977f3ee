"""Which events the widgets hide when "hide noise" is on.

The one definition of noise belongs to :mod:`amikit.analysis` (``drop_noise``); this module
asks it first, so the widgets, the recorder and the batch analysis agree. Until that layer
is installed, a built-in copy of the documented default set is used (VarSet and Newexten
dominate real traffic at 85-92 %, see the protocol notes §2.6).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["NOISE_PATTERNS", "is_noise", "noise_patterns"]

NOISE_PATTERNS: tuple[str, ...] = (
    "VarSet",
    "Newexten",
    "RTCP*",
    "DeviceStateChange",
    "ExtensionStatus",
    "PresenceStateChange",
    "PeerStatus",
    "ContactStatus",
    "Registry",
    "QueueMemberStatus",
    "SuccessfulAuth",
    "ChallengeSent",
    "InvalidPassword",
    "InvalidAccountID",
    "FailedACL",
    "ChallengeResponseFailed",
    "RequestNotAllowed",
    "RequestBadFormat",
    "RequestNotSupported",
    "AuthMethodNotAllowed",
    "UnexpectedAddress",
    "SessionLimit",
    "LoadAverageLimit",
    "MemoryLimit",
    "InvalidTransport",
)


@lru_cache(maxsize=1)
def noise_patterns() -> tuple[str, ...]:
    """The noise event-name patterns (from amikit.analysis when available)."""
    try:
        from .. import analysis  # type: ignore[attr-defined]
    except ImportError:
        return NOISE_PATTERNS
    for attr in ("NOISE", "NOISE_EVENTS", "DEFAULT_NOISE"):
        value = getattr(analysis, attr, None)
        if value:
            return tuple(sorted(str(v) for v in value))
    return NOISE_PATTERNS


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p) for p in patterns), re.IGNORECASE)


@lru_cache(maxsize=1)
def _noise_regex() -> re.Pattern[str]:
    return _compile(noise_patterns())


@lru_cache(maxsize=1024)
def is_noise(event_name: str) -> bool:
    """True if events of this name are noise for call analysis."""
    return bool(_noise_regex().match(event_name or ""))
