"""Call analysis on polars frames of AMI events: noise, duplicates, calls, timelines, statistics."""

from __future__ import annotations

from ._calls import calls, with_call_id
from ._tracker import CallTracker

__all__ = ["CallTracker", "calls", "with_call_id"]
