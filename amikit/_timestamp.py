"""The server's ``Timestamp:`` header (``timestampevents = yes``), parsed in one place.

:attr:`amikit.Message.server_time` and the recorder's ``timestamp`` column both read it,
so they cannot disagree on what counts as a time.
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
