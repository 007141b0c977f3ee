"""Call analysis on polars frames of AMI events: noise, duplicates, calls, timelines, statistics."""

from __future__ import annotations

from ._calls import calls, with_call_id

__all__ = ["calls", "with_call_id"]
