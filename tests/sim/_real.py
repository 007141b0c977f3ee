"""Helpers to read real calls out of the captures and simulated calls out of the scheduler.

Deliberately independent of amikit.sim._extract: calls are grouped here by a plain
union of Linkedids over each channel's Uniqueid.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from functools import lru_cache

from amikit.protocol import Message, Parser
from amikit.record._files import read_capture
from amikit.sim._scenarios import DEFAULT_MIX, SCENARIOS
from amikit.sim._scheduler import CallScheduler
from tests.conftest import DATA

AST = DATA / "asterisk22"
_SEQ = re.compile(r"-[0-9a-f]{8};")


def role(channel: str) -> str:
    """A channel name without its Local sequence number: the channel's role in the call."""
    return _SEQ.sub(";", channel)


@lru_cache(maxsize=16)
def capture_events(path) -> tuple[Message, ...]:
    """The events of a capture (parsed once per test session)."""
    return tuple(m for m in Parser().feed(read_capture(path)) if m.is_event)


@lru_cache(maxsize=16)
def real_calls(path) -> list[list[Message]]:
    """Channel events of a capture grouped into calls (Linkedid union via Uniqueid)."""
    msgs = capture_events(path)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for m in msgs:
        uid, lid = m.get("Uniqueid"), m.get("Linkedid")
        if uid and lid and m.get("Channel"):
            a, b = find(uid), find(lid)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[Message]] = defaultdict(list)
    for m in msgs:
        uid = m.get("Uniqueid")
        if uid and m.get("Channel") and m.get("Linkedid"):
            groups[find(uid)].append(m)
    return list(groups.values())


def real_call(path, first_channel_prefix: str, *, needs: str | None = None) -> list[Message]:
    for call in real_calls(path):
        if not call[0]["Channel"].startswith(first_channel_prefix):
            continue
        if needs and not any(m.name == needs for m in call):
            continue
        return call
    raise LookupError(first_channel_prefix)


def sim_call(scenario: str, *, seed: int = 7, cdr: bool = False, **kw) -> list[Message]:
    scheduler = CallScheduler(
        seed=seed,
        start_time=1_800_000_000.0,
        calls_per_minute=0,
        mix=DEFAULT_MIX,
        scenarios=SCENARIOS,
        cdr=cdr,
        **kw,
    )
    scheduler.start_call(scenario, 1_800_000_000.0)
    frames = scheduler.advance(math.inf)
    return Parser(banner=False).feed(b"".join(f.data for f in frames))


def per_channel(msgs: list[Message]) -> dict[str, list[Message]]:
    out: dict[str, list[Message]] = defaultdict(list)
    for m in msgs:
        ch = m.get("Channel")
        if ch and m.get("Uniqueid") and m.name not in ("Cdr", "CEL", "OriginateResponse"):
            out[role(ch)].append(m)
    return dict(out)


def linkedid_pattern(msgs: list[Message]) -> dict[str, list[int]]:
    """Per channel role, its Linkedid values as indexes in order of first appearance."""
    order: dict[str, int] = {}
    out: dict[str, list[int]] = defaultdict(list)
    for r, events in per_channel(msgs).items():
        for m in events:
            out[r].append((0, m["Linkedid"]))
    for m in msgs:
        lid = m.get("Linkedid")
        if lid and m.get("Channel") and m.get("Uniqueid"):
            order.setdefault(lid, len(order))
    return {r: [order[lid] for _, lid in seq] for r, seq in out.items()}
