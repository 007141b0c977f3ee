"""The server's ``Timestamp:`` header (``timestampevents = yes``), parsed in one place.

:attr:`amikit.Message.server_time`, the recorder's ``timestamp`` column and the simulator's
capture readers (template extraction, replay) all read it, so they cannot disagree on what
counts as a time.
"""

from __future__ import annotations

from datetime import datetime, timezone


def parse_server_time(value: str | None) -> datetime | None:
    """A ``Timestamp:`` value (epoch seconds) as an aware UTC datetime; None if not one."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def server_seconds(value: str | None) -> float | None:
    """A ``Timestamp:`` value as epoch seconds (for offsets between events); None if not one.

    The same rule as :func:`parse_server_time`; Asterisk writes six decimals, which the
    datetime holds exactly, so the seconds are the value as written.
    """
    when = parse_server_time(value)
    return None if when is None else when.timestamp()
