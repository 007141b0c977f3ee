"""Which events the widgets hide when "hide noise" is on: the shared definition.

The set lives in :mod:`amikit._noise` (pure Python), the same one ``drop_noise`` and
``amikit tail --fold-noise`` use, so the widgets, the CLI and the batch analysis always hide
the same events.
"""

from __future__ import annotations

from .._noise import NOISE_EVENTS, is_noise

__all__ = ["NOISE_PATTERNS", "is_noise", "noise_patterns"]

#: The noise event-name patterns (``*`` is a prefix wildcard), sorted.
NOISE_PATTERNS: tuple[str, ...] = tuple(sorted(NOISE_EVENTS))


def noise_patterns() -> tuple[str, ...]:
    """The noise event-name patterns (``*`` is a wildcard), as ``drop_noise`` uses them."""
    return NOISE_PATTERNS
