"""Replay: a recorded capture served in order, at its recorded pace scaled by ``speed``."""

from __future__ import annotations

from amikit.sim import User, replay
from tests.sim._raw import RawAMI
from tests.sim._real import AST, capture_events


def _collect(rp, expected, user="admin", secret="amikit"):
    """Read (as they arrive) the ``expected`` replayed events, with arrival times."""
    client = RawAMI(rp.host, rp.port, timeout=30)
    client.login(user, secret)
    count = [0]

    def enough(frame):
        if "Event" in frame and frame["Event"] != "FullyBooted":
            count[0] += 1
        return count[0] >= expected

    client.wait_for(enough)
    assert rp.wait_finished(1, timeout=30)
    client.close()
    pairs = [
        (f, t)
        for f, t in zip(client.frames, client.arrivals, strict=True)
        if "Event" in f and f["Event"] != "FullyBooted"
    ]
    return [f for f, _ in pairs], [t for _, t in pairs]


def test_replay_with_timing_file_keeps_order_and_scaled_timing():
    path = AST / "kinds" / "hold.raw"  # no Timestamp headers: times from hold.timing.jsonl
    speed = 10.0
    real = [m for m in capture_events(path) if m.name != "FullyBooted"]
    with replay(path, speed=speed) as rp:
        frames, arrivals = _collect(rp, len(real))
    assert [f["Event"] for f in frames] == [m.name for m in real]
    assert [f.get("Uniqueid", f.get("UniqueID")) for f in frames] == [
        m.get("Uniqueid") for m in real
    ]
    recorded = [offset for offset, msg, _ in rp.events if msg.name != "FullyBooted"]
    assert recorded[-1] > 10  # the capture spans ~15 s
    start = arrivals[0]
    for got, want in zip(arrivals, recorded, strict=True):
        assert abs((got - start) - want / speed) < 0.25 + 0.1 * want / speed
    total = arrivals[-1] - start
    assert recorded[-1] / speed * 0.8 < total < recorded[-1] / speed * 1.5


def test_replay_honours_timestamp_headers_and_read_classes():
    path = AST / "mixed60.raw"  # timestampevents = yes
    real = [
        m
        for m in capture_events(path)
        if m.get("Privilege", "").startswith("call") and m.name != "FullyBooted"
    ]
    with replay(path, speed=200.0, users=[User("calls", "pw", read="call")]) as rp:
        frames, arrivals = _collect(rp, len(real), "calls", "pw")
    assert [f["Event"] for f in frames] == [m.name for m in real]
    assert not {"VarSet", "Newexten", "Cdr"} & {f["Event"] for f in frames}
    stamps = [float(f["Timestamp"]) for f in frames]
    span = stamps[-1] - stamps[0]
    assert 0.5 * span / 200 < arrivals[-1] - arrivals[0] < span / 200 + 1.0


def test_each_client_gets_the_whole_recording():
    path = AST / "kinds" / "pickup.raw"
    expected = sum(1 for m in capture_events(path) if m.name != "FullyBooted")
    with replay(path, speed=float("inf")) as rp:
        first, _ = _collect(rp, expected)
        second, _ = _collect(rp, expected)
    assert first == second
    assert len(first) == sum(1 for _, m, _ in rp.events if m.name != "FullyBooted")
