"""Which events the widgets hide when "hide noise" is on.

The definition of noise belongs to :mod:`amikit.analysis` (``drop_noise``,
``NOISE_EVENTS``). That module loads polars, and ``amikit.explain`` (which marks noise
events) must stay light, so this is a copy of the same set; a test asserts that the two are
equal, so the widgets and the batch analysis always hide the same events. (VarSet and
Newexten alone are 85-92 % of real traffic, protocol notes §2.6.)
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
    "PresenceStatus",
    "SessionTimeout",
    "Cdr",
    "CEL",
)


def noise_patterns() -> tuple[str, ...]:
    """The noise event-name patterns (``*`` is a wildcard), as ``drop_noise`` uses them."""
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
