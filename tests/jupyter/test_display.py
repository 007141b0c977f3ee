"""Rich display of events frames, calls, one call and timelines (HTML and plain text)."""

from __future__ import annotations

import polars as pl
from IPython.core.interactiveshell import InteractiveShell

from amikit import Message
from amikit.jupyter import _display
from amikit.protocol import Parser
from amikit.record._files import read_capture
from amikit.record._schema import message_row, rows_to_frame

from ..conftest import DATA

BUSY = DATA / "ami-samples" / "07_busy_reject__cacofonisk.ami"
MIXED = DATA / "asterisk22" / "mixed60.raw"


def frame_of(path) -> object:
    return rows_to_frame(message_row(m) for m in Parser().feed(read_capture(path)))


def test_events_frame_renders_as_html_and_text(ip: InteractiveShell) -> None:
    frame = frame_of(BUSY)
    assert _display.frame_kind(frame) == "events"
    data, _meta = ip.display_formatter.format(frame)
    html = data["text/html"]
    assert "amikit-events" in html and "<b>Hangup</b>" in html
    assert "title='A channel is gone." in html
    assert f"{frame.height} rows" in html
    text = data["text/plain"]
    assert "Hangup" in text and f"({frame.height} events)" in text
    first = text.splitlines()[0]
    assert frame["event"][0] in first


def test_other_frames_keep_polars_rendering(ip: InteractiveShell) -> None:
    other = pl.DataFrame({"a": [1, 2]})
    data, _meta = ip.display_formatter.format(other)
    assert data["text/html"] == other._repr_html_()
    assert data["text/plain"] == repr(other)


def test_message_renders_as_html_with_secrets_masked(ip: InteractiveShell) -> None:
    msg = Message.from_pairs([("Action", "Login"), ("Username", "u"), ("Secret", "pw-xyz")])
    data, _meta = ip.display_formatter.format(msg)
    assert "pw-xyz" not in data["text/html"] and "pw-xyz" not in data["text/plain"]
    assert "Username" in data["text/html"]
    assert data["text/plain"] == "Action: Login\nUsername: u\nSecret: ********"


def test_calls_and_one_call_and_timeline_render() -> None:
    from amikit import analysis

    frame = frame_of(MIXED)
    calls = analysis.calls(frame)
    assert _display.frame_kind(calls) == "calls"
    html = _display.to_html(calls)
    assert "amikit-calls" in html and "ANSWERED" in html and f"{calls.height} rows" in html
    assert f"({calls.height} calls)" in _display.to_text(calls)
    busy = calls.filter(pl.col("disposition") == "BUSY").head(1)
    card = _display.to_html(busy)
    assert "amikit-call'" in card and "BUSY" in card and "hangup" in card
    assert "disposition: BUSY" in _display.to_text(busy)
    call_id = busy["call_id"][0]
    tl = analysis.timeline(frame, call_id)
    assert _display.frame_kind(tl) == "timeline"
    html = _display.to_html(tl)
    assert "amikit-timeline" in html and "+0.000s" in html
    assert _display.to_text(tl).splitlines()[0].startswith("+   0.000s")
