"""Derive the scenario templates of the simulated PBX from real Asterisk 22 captures.

Strategy
--------
The simulator's promise is that a simulated call looks on the wire like the same call on a
real Asterisk 22. Hand-writing the event order of fourteen call kinds would drift from the
truth in a hundred small ways (which leg gets ``SoftHangupRequest``, where ``LocalBridge``
sits, which ``VarSet`` Asterisk itself emits), so the *facts* are taken from real captures:

1. parse a capture (``tests/data/asterisk22``) and group its events into calls with the
   union-find the analysis uses (:mod:`amikit._unionfind`): every ``*Uniqueid``/``*Linkedid``
   value of an event joins one group (so attended transfer and pickup, whose Linkedid
   changes, stay one scenario); channel-less events join a group by bridge id
   (``BridgeCreate``/``Destroy``, ``Confbridge*``) or by device (``DeviceStateChange``,
   ``QueueMemberStatus``);
2. pick one call per kind and turn it into a *template*: every identity in it becomes a slot
   (``\\x00U3\\x00`` = the call's third Uniqueid, ``L`` = Local channel sequence, ``B`` = bridge
   UUID, ``N``/``M`` = caller number/name, ``A`` = ActionID, ``T``/``V``/``E``/``S`` = the
   event's own time in its four spellings, ``START`` = when the PBX started, ``C`` = a CDR
   date, ``DUR``/``BILL`` = CDR seconds);
   event times become offsets from the call start.

The result is written to ``scenarios.json`` next to this module (shipped with the package, so
the simulator needs no capture at run time). ``python -m amikit.sim._extract`` rebuilds it;
``tests/sim`` checks the shipped file is what the captures give.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._timestamp import server_seconds
from .._unionfind import UnionFind
from ..protocol import Message, Parser
from ..record import read_capture
from ._templates import SLOT

__all__ = ["SLOT", "build_templates", "group_calls", "load_events", "main"]

# kind -> (capture file relative to the asterisk22 folder, how to pick the call)
SOURCES: dict[str, tuple[str, str]] = {
    "echo": ("mixed60.raw", "echo"),
    "ivr": ("mixed60.raw", "ivr"),
    "playback": ("mixed60.raw", "playback"),
    "dial": ("mixed60.raw", "dial"),
    "dial_dtmf": ("mixed60.raw", "dial_dtmf"),
    "parallel": ("mixed60.raw", "parallel"),
    "dial_busy": ("mixed60.raw", "dial_busy"),
    "queue": ("mixed60.raw", "queue:AgentRingNoAnswer"),
    "conference": ("mixed60.raw", "conference"),
    "busy": ("mixed60.raw", "busy"),
    "noanswer": ("mixed60.raw", "noanswer"),
    "congestion": ("mixed60.raw", "congestion"),
    "rejected": ("mixed60.raw", "rejected"),
    "varset": ("mixed60.raw", "varset"),
    "park": ("mixed60.raw", "park"),
    "moh": ("mixed60.raw", "moh"),
    "record": ("mixed60.raw", "record"),
    "blind_xfer": ("kinds/blind_xfer.raw", "*"),
    "blind_xfer_dtmf": ("kinds/blind_xfer_dtmf.raw", "*"),
    "atxfer": ("kinds/atxfer.raw", "*"),
    "atxfer_park": ("kinds/atxfer_park.raw", "*"),
    "pickup": ("kinds/pickup.raw", "*"),
    "forward": ("kinds/forward.raw", "*"),
    "hold": ("kinds/hold.raw", "*"),
}

_ID_KEY = re.compile(r"(uniqueid|linkedid)$", re.IGNORECASE)
_UNIQUEID = re.compile(r"^\d{9,11}\.\d+$")
_LOCAL = re.compile(r"(Local/[^@\s;]+@[A-Za-z0-9_]+)-([0-9a-f]{8})(?=;[12])")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CDR_TIME_KEYS = ("StartTime", "AnswerTime", "EndTime")
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-f]{8};[12]$")


def load_events(path: Path) -> list[tuple[float, Message]]:
    """The events of a capture with their time (``Timestamp`` or the ``.timing.jsonl`` file)."""
    full = path.read_bytes()
    data = read_capture(path)
    skipped = len(full) - len(data)
    parser = Parser()
    messages = parser.feed(data)
    timing = path.with_suffix(".timing.jsonl")
    chunks: list[tuple[int, float]] = []
    if timing.exists():
        for line in timing.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                chunks.append((int(rec["offset"]) + int(rec["len"]), float(rec["t"])))
    offset = len((parser.banner or "").encode()) + 2 if parser.banner else 0
    offset += skipped
    arrival: list[tuple[float | None, float, Message]] = []
    ci = 0
    for msg in messages:
        end = offset + len(msg.raw)
        offset = end
        if not msg.is_event:
            continue
        while ci < len(chunks) - 1 and chunks[ci][0] < end:
            ci += 1
        server_time = server_seconds(msg.get("Timestamp"))
        arrival.append((server_time, chunks[ci][1] if chunks else 0.0, msg))
    # One clock for the whole capture: the server's Timestamps when it has them (an event
    # without one, like FullyBooted, takes its neighbour's), else the arrival times.
    if any(st is not None for st, _, _ in arrival):
        known = next(st for st, _, _ in arrival if st is not None)
        out: list[tuple[float, Message]] = []
        for st, _, msg in arrival:
            known = st if st is not None else known
            out.append((known, msg))
        return out
    return [(at, msg) for _, at, msg in arrival]


def _device(channel: str) -> str:
    return _CHANNEL_SUFFIX.sub("", channel.split("/n")[0] if channel.endswith("/n") else channel)


def _ids(msg: Message) -> list[str]:
    return [v for k, v in msg.items() if _ID_KEY.search(k) and _UNIQUEID.match(v)]


def group_calls(events: list[tuple[float, Message]]) -> list[list[tuple[float, Message]]]:
    """Group a capture's events into calls (see the module docstring); in start order."""
    uf = UnionFind()
    for _, msg in events:
        ids = _ids(msg)
        for other in ids[1:]:
            uf.union(ids[0], other)
    owner: list[str | None] = []
    bridge_first: dict[str, list[tuple[int, str]]] = defaultdict(list)
    device_last: dict[str, str] = {}
    for i, (_, msg) in enumerate(events):
        ids = _ids(msg)
        root = uf.find(ids[0]) if ids else None
        owner.append(root)
        if root is not None:
            bridge = msg.get("BridgeUniqueid")
            if bridge:
                bridge_first[bridge].append((i, root))
    # channel-less events: by bridge (nearest use), then by device (latest user)
    for i, (_, msg) in enumerate(events):
        if owner[i] is not None:
            for key in ("Channel", "DestChannel"):
                ch = msg.get(key)
                if ch:
                    device_last[_device(ch)] = owner[i]  # type: ignore[assignment]
            continue
        bridge = msg.get("BridgeUniqueid")
        if bridge and bridge_first.get(bridge):
            uses = bridge_first[bridge]
            after = [r for j, r in uses if j > i]
            before = [r for j, r in uses if j < i]
            owner[i] = (
                after[0]
                if msg.name.endswith(("Create", "Start")) and after
                else (before[-1] if before else after[0])
            )
            continue
        device = msg.get("Device") or msg.get("Interface") or msg.get("Channel")
        if device:
            owner[i] = device_last.get(_device(device))
    groups: dict[str, list[tuple[float, Message]]] = {}
    for (t, msg), root in zip(events, owner, strict=True):
        if root is not None:
            groups.setdefault(root, []).append((t, msg))
    return list(groups.values())


def _group_kind(group: list[tuple[float, Message]]) -> str | None:
    for _, msg in group:
        if msg.name == "OriginateResponse":
            action = msg.get("ActionID") or ""
            parts = action.split("-", 3)
            return parts[3] if len(parts) == 4 else action
    return None


def _pick(groups: list[list[tuple[float, Message]]], rule: str) -> list[tuple[float, Message]]:
    if rule == "*":
        return groups[0]
    kind, _, needs = rule.partition(":")
    for group in groups:
        if _group_kind(group) != kind:
            continue
        if needs and not any(m.name == needs for _, m in group):
            continue
        return group
    raise LookupError(f"no call of kind {rule!r} in the capture")


def template_from_group(kind: str, group: list[tuple[float, Message]]) -> dict[str, Any]:
    """Turn one real call into a template (identities replaced by slots)."""
    t0 = group[0][0]
    abs0 = t0
    if not group[0][1].get("Timestamp"):
        # arrival times only: anchor on the epoch part of the first Uniqueid (1 s precision)
        first = next((v for _, m in group for v in _ids(m)), None)
        abs0 = float(first.split(".")[0]) if first else t0
    uniqueids: dict[str, int] = {}
    locals_: dict[str, int] = {}
    uuids: dict[str, int] = {}
    callers: list[tuple[str, str]] = []
    actions: dict[str, int] = {}
    for _, msg in group:
        for v in _ids(msg):
            uniqueids.setdefault(v, len(uniqueids))
        if msg.name == "OriginateResponse":
            actions.setdefault(msg.get("ActionID") or "", len(actions))
            pair = (msg.get("CallerIDNum") or "", msg.get("CallerIDName") or "")
            if pair not in callers:
                callers.append(pair)
    uid_re = (
        re.compile(
            r"(?<![\d.])("
            + "|".join(re.escape(u) for u in sorted(uniqueids, key=len, reverse=True))
            + r")(?!\d)"
        )
        if uniqueids
        else None
    )
    num_res = [
        (re.compile(r"(?<!\d)" + re.escape(num) + r"(?!\d)"), f"N{i}")
        for i, (num, _) in enumerate(callers)
        if num
    ]
    name_res = [(name, f"M{i}") for i, (_, name) in enumerate(callers) if name]
    epochs = {int(abs0 + t - t0) for t, _ in group}
    epoch_re = re.compile(r"(?<![\d.])(1[6-9]\d{8})(?![\d])")

    def slot(name: str) -> str:
        return f"{SLOT}{name}{SLOT}"

    def convert(key: str, value: str, t: float, event: str) -> str:
        if key == "Timestamp":
            return slot("T")
        if key == "EventTV":
            return slot("V")
        if event == "CEL" and key == "EventTime":
            return slot("E")
        if event == "OriginateResponse" and key == "ActionID":
            return slot(f"A{actions[value]}")
        if event == "Cdr" and key in _CDR_TIME_KEYS:
            if not value:
                return value
            real = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
            return slot(f"C{round(real.timestamp() - abs0, 3)}")
        if key == "LoginTime" and value.isdigit() and value != "0":
            return slot("START")  # a queue member logged in when the PBX started
        if event == "Cdr" and key == "Duration":
            return slot("DUR")
        if event == "Cdr" and key == "BillableSeconds":
            return slot("BILL")
        if uid_re is not None:
            value = uid_re.sub(lambda m: slot(f"U{uniqueids[m.group(1)]}"), value)
        value = _LOCAL.sub(
            lambda m: m.group(1) + "-" + slot(f"L{locals_.setdefault(m.group(2), len(locals_))}"),
            value,
        )
        value = _UUID.sub(lambda m: slot(f"B{uuids.setdefault(m.group(0), len(uuids))}"), value)
        for name, token in name_res:
            value = value.replace(name, slot(token))
        for rx, token in num_res:
            value = rx.sub(slot(token), value)
        if any(abs(int(m.group(1)) - e) < 3600 for m in epoch_re.finditer(value) for e in epochs):
            value = epoch_re.sub(slot("S"), value)
        return value

    events = []
    for t, msg in group:
        pairs = [[k, convert(k, v, t, msg.name)] for k, v in msg.items()]
        events.append([round(t - t0, 6), pairs])
    return {
        "kind": kind,
        "callers": len(callers),
        "originates": len(actions),
        "events": events,
    }


def build_templates(folder: Path) -> dict[str, Any]:
    """Templates for every kind in :data:`SOURCES`, from the captures in ``folder``."""
    cache: dict[str, list[list[tuple[float, Message]]]] = {}
    out: dict[str, Any] = {}
    for kind, (rel, rule) in SOURCES.items():
        if rel not in cache:
            cache[rel] = group_calls(load_events(folder / rel))
        out[kind] = template_from_group(kind, _pick(cache[rel], rule))
    return out


def main(argv: list[str] | None = None) -> int:
    """Rebuild ``scenarios.json`` from a capture folder (default: tests/data/asterisk22)."""
    argv = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[2]
    folder = Path(argv[0]) if argv else root / "tests" / "data" / "asterisk22"
    templates = build_templates(folder)
    target = Path(__file__).with_name("scenarios.json")
    target.write_text(json.dumps(templates, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {target} ({len(templates)} kinds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
