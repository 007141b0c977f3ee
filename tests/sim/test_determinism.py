"""Same seed, same calls: the scheduler alone, and the PBX over a socket."""

from __future__ import annotations

import re
from collections import Counter

from amikit.protocol import Parser
from amikit.sim import PBX
from amikit.sim._scenarios import DEFAULT_MIX, SCENARIOS, resolve_mix
from amikit.sim._scheduler import CallScheduler
from tests.sim._raw import RawAMI

T0 = 1_800_000_000.0


def run(seed, minutes=10, **kw):
    scheduler = CallScheduler(
        seed=seed,
        start_time=T0,
        calls_per_minute=kw.pop("cpm", 20),
        mix=kw.pop("mix", DEFAULT_MIX),
        scenarios=SCENARIOS,
        **kw,
    )
    frames = []
    for step in range(1, minutes * 6 + 1):  # advance in uneven slices, like a live clock
        frames += scheduler.advance(T0 + step * 10 - (step % 3) * 0.37)
    return frames


def test_same_seed_same_bytes_and_different_seed_different_calls():
    a, b, c = run(1), run(1), run(2)
    assert b"".join(f.data for f in a) == b"".join(f.data for f in b)
    assert [f.name for f in a] != [f.name for f in c]
    times = [f.time for f in a]
    assert times == sorted(times)


def test_the_mix_is_honoured():
    frames = run(3, minutes=30, cpm=30, mix=resolve_mix({"busy": 1, "answered": 3}))
    msgs = Parser(banner=False).feed(b"".join(f.data for f in frames))
    firsts = Counter(
        re.sub(r"-[0-9a-f]{8};1$", "", m["Channel"])
        for m in msgs
        if m.name == "Newchannel"
        and m["Channel"].endswith(";1")
        and m["Channel"].startswith(("Local/200@", "Local/500@"))
    )
    busy, answered = firsts["Local/500@internal"], firsts["Local/200@internal"]
    assert busy > 50 and answered > 3 * busy * 0.6  # ~1:3 of ~900 calls (answered also dials 100)
    assert {m["Channel"].split("@")[0] for m in msgs if m.name == "Newchannel"} <= {
        "Local/200",
        "Local/100",
        "Local/500",
    }


def test_cdr_switch_only_adds_cdr_events():
    plain, with_cdr = run(4, minutes=2), run(4, minutes=2, cdr=True)
    assert "Cdr" not in {f.name for f in plain}
    assert [f.name for f in with_cdr if f.name != "Cdr"] == [f.name for f in plain]


def test_pbx_runs_with_the_same_seed_emit_the_same_stream():
    # Background traffic depends only on the seed (and start_time): two runs produce the
    # same endless stream, byte for byte; a client only chooses where it starts reading.
    runs = []
    for _ in range(2):
        with PBX(calls_per_minute=120, seed=9, speed=20.0, start_time=T0) as pbx:
            ami = RawAMI(pbx.host, pbx.port)
            ami.login()

            def enough(frame, count=[0]):  # noqa: B006 -- a fresh counter per run
                count[0] += "Timestamp" in frame
                return count[0] >= 600

            ami.wait_for(enough, timeout=60)
            ami.close()
            runs.append([f for f in ami.frames if "Timestamp" in f and "Event" in f])
    first, second = runs
    if first[0]["Timestamp"] > second[0]["Timestamp"]:
        first, second = second, first
    start = first.index(second[0])  # Timestamps are unique: an exact alignment
    overlap = min(len(first) - start, len(second))
    assert overlap > 300
    assert first[start : start + overlap] == second[:overlap]
