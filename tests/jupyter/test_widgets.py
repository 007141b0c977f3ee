"""Widget state in pure Python: no kernel, no browser; the wire is a recording comm."""

from __future__ import annotations

import threading
import time
from typing import Any

import comm
import pytest

from amikit.jupyter import EventStream
from amikit.jupyter._filter import EventFilter
from amikit.jupyter._live import RateMeter
from amikit.jupyter._throttle import Throttle
from amikit.protocol import Message, Parser
from amikit.record._files import read_capture
from amikit.record._schema import message_row, rows_to_frame

from ..conftest import DATA

MIXED = DATA / "asterisk22" / "mixed60.raw"


class RecordingComm:
    """Stands in for a kernel comm: keeps every message a widget would send."""

    comm_id = "recording"
    kernel = "Truthy"

    def __init__(self, **kwargs: Any) -> None:
        self.messages: list[dict[str, Any]] = []

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send(self, data: Any = None, **kwargs: Any) -> None:
        self.messages.append(data)

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    comms: list[RecordingComm] = []

    def create(**kwargs: Any) -> RecordingComm:
        c = RecordingComm(**kwargs)
        comms.append(c)
        return c

    monkeypatch.setattr(comm, "create_comm", create)
    return comms


@pytest.fixture(scope="module")
def mixed() -> list[Message]:
    return Parser().feed(read_capture(MIXED))


def updates(comms: list[RecordingComm], key: str) -> int:
    return sum(
        1
        for c in comms
        for m in c.messages
        if isinstance(m, dict) and m.get("method") == "update" and key in m.get("state", {})
    )


def test_stream_counts_everything_and_shows_the_newest_matching_rows(
    wire: list[RecordingComm], mixed: list[Message]
) -> None:
    stream = EventStream(rows=10, buffer=500)
    stream.extend(mixed)
    stream.flush()
    assert stream.received == len(mixed) == 5477
    window = mixed[-500:]
    noise = sum(1 for m in window if m.name in ("VarSet", "Newexten", "DeviceStateChange"))
    assert stream.noise_hidden >= noise > 0
    shown = stream.messages()
    assert len(shown) <= 500 and all(m.name not in ("VarSet", "Newexten") for m in shown)
    assert len(shown) == 500 - stream.noise_hidden
    status = stream._status.value
    assert "data-n='5477'" in status
    assert f"{stream.noise_hidden} noise hidden (in the last 500 events)" in status
    table = stream._table.value
    assert table.count("class='amikit-row") == 10
    newest = next(m for m in reversed(mixed) if m.name not in ("VarSet", "Newexten"))
    first_row = table[table.index("class='amikit-row") :]
    assert first_row.startswith(f"class='amikit-row'><td>{newest.seq or ''}</td>")
    assert f"<b>{newest.name}</b>" in first_row[: first_row.index("</tr>")]


def test_ring_buffer_is_bounded(mixed: list[Message]) -> None:
    stream = EventStream(buffer=100, hide_noise=False)
    stream.extend(mixed)
    stream.flush()
    assert len(stream._buffer) == 100
    assert stream.messages() == mixed[-100:]


def test_filter_wildcards_exclusion_and_free_text(mixed: list[Message]) -> None:
    stream = EventStream(buffer=10_000, hide_noise=False)
    stream.extend(mixed)
    stream.filter_text = "Dial*"
    assert {m.name for m in stream.messages()} == {"DialBegin", "DialState", "DialEnd"}
    stream.filter_text = "hangup, DialEnd"
    assert {m.name for m in stream.messages()} == {"Hangup", "DialEnd"}
    stream.filter_text = "-VarSet !Newexten"
    names = {m.name for m in stream.messages()}
    assert "VarSet" not in names and "Newexten" not in names and "Hangup" in names
    stream.filter_text = 'Hangup "user busy"'
    busy = stream.messages()
    assert busy and all(m.get("Cause-txt") == "User busy" for m in busy)
    expected = [m for m in mixed if m.name == "Hangup" and m.get("Cause-txt") == "User busy"]
    assert busy == expected
    stream.filter_text = "Dial* 5550017"
    hits = stream.messages()
    assert hits and all("5550017" in m.raw.decode() and m.name.startswith("Dial") for m in hits)


def test_filter_parsing_rules() -> None:
    f = EventFilter.parse('Dial* -VarSet hangup 6001 name:Custom text:Dial "two words"')
    assert f.include == ("Dial*", "hangup", "Custom")
    assert f.exclude == ("VarSet",)
    assert f.words == ("6001", "dial", "two words")
    assert EventFilter.parse('"unbalanced').words == ("unbalanced",)
    assert EventFilter.parse("").is_empty


def test_noise_toggle(mixed: list[Message]) -> None:
    stream = EventStream(buffer=10_000)
    stream.extend(mixed)
    hidden = stream.messages()
    stream.hide_noise = False
    everything = stream.messages()
    assert len(everything) == len(mixed) > len(hidden)
    stream._noise_box.value = True  # the checkbox drives the trait
    assert stream.hide_noise and len(stream.messages()) == len(hidden)


def test_pause_freezes_the_table_but_keeps_counting(mixed: list[Message]) -> None:
    stream = EventStream(buffer=10_000, hide_noise=False)
    stream.extend(mixed[:100])
    stream._pause_button.value = True  # the button drives the trait
    assert stream.paused
    stream.extend(mixed[100:300])
    stream.flush()
    assert stream.messages() == mixed[:100]
    assert stream.received == 300
    assert "paused</b> (200 new)" in stream._status.value
    assert stream._pause_button.description == "resume"
    stream.resume()
    assert stream.messages() == mixed[:300]
    stream.clear()
    assert stream.received == 0 and stream.messages() == []


def test_frame_and_live_views_agree(mixed: list[Message]) -> None:
    frame = rows_to_frame(message_row(m) for m in mixed)
    for text in ("Dial*", "Hangup 17", "-Newexten", "Local/ BridgeEnter"):
        live = EventStream(buffer=10_000, filter=text)
        live.extend(mixed)
        recorded = EventStream(frame, filter=text, rows=5)
        recorded.flush()
        assert recorded.received == len(mixed)
        live_names = [(m.name, m.get("Uniqueid")) for m in live.messages()]
        frame_names = [(m.name, m.get("Uniqueid")) for m in recorded.messages()]
        assert frame_names == live_names, text
        assert recorded.shown == len(live_names)
        assert "recording" in recorded._status.value


def test_renders_are_throttled_and_the_last_state_always_shows(
    wire: list[RecordingComm], mixed: list[Message]
) -> None:
    stream = EventStream(rate=4.0)
    base = updates(wire, "value")
    start = time.monotonic()
    for msg in mixed:  # as fast as possible, from this thread
        stream.feed(msg)
    fed = time.monotonic() - start
    deadline = time.monotonic() + 5
    while f"data-n='{len(mixed)}'" not in stream._status.value:  # trailing edge
        assert time.monotonic() < deadline, stream._status.value
        stream._throttle.rendered.wait(0.5)
        stream._throttle.rendered.clear()
    elapsed = time.monotonic() - start
    renders = stream.renders
    assert renders <= 2 + elapsed * 4, (renders, elapsed, fed)
    # one render sends at most one update per changed child widget (status, table)
    assert updates(wire, "value") - base <= 2 * renders


def test_feeding_from_another_thread_while_this_one_blocks(mixed: list[Message]) -> None:
    stream = EventStream(buffer=10_000, hide_noise=False)
    done = threading.Event()

    def producer() -> None:
        stream.extend(mixed)
        done.set()

    threading.Thread(target=producer, daemon=True).start()
    assert done.wait(10)
    deadline = time.monotonic() + 5
    while f"data-n='{len(mixed)}'" not in stream._status.value:  # rendered by the thread
        assert time.monotonic() < deadline
        stream._throttle.rendered.wait(0.5)
        stream._throttle.rendered.clear()


def test_a_failing_render_is_counted_and_does_not_stop_the_render_thread() -> None:
    calls: list[int] = []

    def bad() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    throttle = Throttle(bad, rate=100)
    throttle.poke()
    assert throttle.rendered.wait(5)
    assert throttle.errors == 1 and isinstance(throttle.last_error, RuntimeError)
    good = Throttle(lambda: None, rate=100)
    good.poke()
    assert good.rendered.wait(5)


def test_rate_meter_uses_a_sliding_window() -> None:
    meter = RateMeter(window=5.0, now=1000.0)
    assert meter.observe(500, now=1005.0) == pytest.approx(100.0)
    for second in range(6, 11):
        rate = meter.observe(500 + 50 * (second - 5), now=1000.0 + second)
    assert rate == pytest.approx(50.0)  # only the last five seconds count
    assert meter.observe(750, now=1016.0) == 0.0  # quiet: decays to zero


def test_hover_explains_event_names_and_paused_rows_unfold_every_field(
    mixed: list[Message],
) -> None:
    stream = EventStream(filter="Hangup", rows=3)
    stream.extend(mixed)
    stream.flush()
    live = stream._table.value
    assert "title='A channel is gone." in live
    assert "<details>" not in live  # live rows stay light: a few KiB per update
    assert len(live) < 8 * 1024
    stream.pause()
    stream.flush()
    paused = stream._table.value
    assert paused.count("<details>") == 3 and "title='Q.850 hangup cause code" in paused
    assert "click a row for every field" in stream._status.value


def test_widget_repr_is_cheap_and_informative() -> None:
    stream = EventStream(filter="Dial*")
    assert repr(stream) == "<EventStream received=0 shown=0 paused=False filter='Dial*'>"


def test_close_cancels_the_subscription() -> None:
    class FakeSub:
        cancelled = False

        def cancel(self) -> None:
            self.cancelled = True

    class Source:
        def __init__(self) -> None:
            self.sub = FakeSub()
            self.args: tuple[Any, ...] = ()

        def on(self, pattern: Any, callback: Any, *, thread: str) -> FakeSub:
            self.args = (pattern, callback, thread)
            return self.sub

    source = Source()
    stream = EventStream(source, pattern="Dial*")
    assert source.args[0] == "Dial*" and source.args[2] == "loop"
    stream.close()
    assert source.sub.cancelled


def test_widgets_hide_exactly_what_drop_noise_drops() -> None:
    from amikit import analysis
    from amikit.jupyter._noise import NOISE_PATTERNS

    assert set(NOISE_PATTERNS) == set(analysis.NOISE_EVENTS)


def test_recorded_gaps_show_as_events() -> None:
    from datetime import datetime, timezone

    from amikit.jupyter._live import frame_messages

    gap = {
        "received_at": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "kind": "gap",
        "event": "Gap",
        "extra": [{"key": "Reason", "value": "connection lost"}],
    }
    (msg,) = frame_messages(rows_to_frame([gap]))
    assert msg.name == "Gap" and msg["Reason"] == "connection lost"
