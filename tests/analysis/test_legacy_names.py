"""Rule 5 (AMI 1.x): events found through channel names, and masquerades.

Asterisk <= 11 sends some events with a channel name and no Uniqueid (AGIExec, the
Masquerade itself, ChannelUpdate), and swaps Uniqueids on a masquerade (Rename gives a
channel its new name). Both the batch grouping and the live tracker must follow them.
"""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from amikit import Message
from amikit.analysis import CallTracker, calls, with_call_id
from amikit.record._schema import message_row, rows_to_frame
from tests.conftest import DATA

from .conftest import capture_messages

TRANSCRIPT = DATA / "ami-samples" / "protocol" / "originate_with_events.txt"


def frame_of(messages: list[Message]) -> pl.DataFrame:
    return rows_to_frame(message_row(m, seq=i) for i, m in enumerate(messages, 1))


def live_calls(messages: list[Message]) -> pl.DataFrame:
    tracker = CallTracker()
    tracker.feed_all(messages)
    return tracker.calls()


def test_real_asterisk11_masquerade_transcript_is_one_call_with_its_nameonly_events():
    messages = capture_messages(TRANSCRIPT)
    frame = frame_of(messages)
    grouped = with_call_id(frame)
    (call_id,) = calls(frame)["call_id"].to_list()
    named_only = grouped.filter(pl.col("event").is_in(["AGIExec", "Masquerade", "ChannelUpdate"]))
    assert named_only.height > 250  # 260 AGIExec carry a channel name and no Uniqueid
    assert named_only["call_id"].to_list() == [call_id] * named_only.height
    assert_frame_equal(live_calls(messages), calls(frame))


def _legacy_pickup(with_masquerade: bool) -> list[Message]:
    """Two AMI 1.x channels joined only by a masquerade (as a call pickup did)."""
    t = iter(range(100))

    def ev(*pairs: tuple[str, str]) -> Message:
        return Message.from_pairs([*pairs, ("Timestamp", f"{1414510600 + next(t)}.000000")])

    out = [
        ev(
            ("Event", "Newchannel"),
            ("Channel", "SIP/a-1"),
            ("ChannelState", "4"),
            ("CallerIDNum", "201"),
            ("Exten", "300"),
            ("Uniqueid", "1414510600.1"),
        ),
        ev(
            ("Event", "Newchannel"),
            ("Channel", "SIP/b-2"),
            ("ChannelState", "6"),
            ("CallerIDNum", "202"),
            ("Exten", "*8"),
            ("Uniqueid", "1414510600.2"),
        ),
    ]
    if with_masquerade:
        out.append(
            ev(
                ("Event", "Masquerade"),
                ("Clone", "SIP/b-2"),
                ("CloneState", "Up"),
                ("Original", "SIP/a-1"),
                ("OriginalState", "Ring"),
            )
        )
    out += [
        ev(
            ("Event", "Rename"),
            ("Channel", "SIP/b-2"),
            ("Newname", "SIP/b-2<MASQ>"),
            ("Uniqueid", "1414510600.2"),
        ),
        ev(
            ("Event", "Rename"),
            ("Channel", "SIP/a-1"),
            ("Newname", "SIP/b-2"),
            ("Uniqueid", "1414510600.1"),
        ),
        # after the swap, SIP/b-2 is the channel with Uniqueid .1
        ev(("Event", "AGIExec"), ("Channel", "SIP/b-2"), ("SubEvent", "Start")),
        ev(
            ("Event", "Newstate"),
            ("Channel", "SIP/b-2"),
            ("ChannelState", "6"),
            ("ChannelStateDesc", "Up"),
            ("Uniqueid", "1414510600.1"),
        ),
        ev(
            ("Event", "Hangup"),
            ("Channel", "SIP/b-2<MASQ>"),
            ("Cause", "16"),
            ("Uniqueid", "1414510600.2"),
        ),
        ev(
            ("Event", "Hangup"),
            ("Channel", "SIP/b-2"),
            ("Cause", "16"),
            ("Uniqueid", "1414510600.1"),
        ),
    ]
    return out


def test_a_masquerade_joins_two_legacy_channels_into_one_call_live_and_batch():
    joined = _legacy_pickup(with_masquerade=True)
    apart = _legacy_pickup(with_masquerade=False)
    assert calls(frame_of(apart)).height == 2  # without the masquerade nothing links them
    batch = calls(frame_of(joined))
    assert batch.height == 1
    assert_frame_equal(live_calls(joined), batch)
    grouped = with_call_id(frame_of(joined))
    agi = grouped.filter(pl.col("event") == "AGIExec")
    # found by name after the Uniqueid swap: the channel that now bears SIP/b-2 (.1)
    assert agi["call_id"].to_list() == batch["call_id"].to_list()
