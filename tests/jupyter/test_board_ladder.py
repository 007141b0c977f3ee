"""CallBoard and CallLadder state in pure Python, on real captures (live feed and recording)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from amikit import analysis
from amikit.jupyter import CallBoard, CallLadder
from amikit.protocol import Message, Parser
from amikit.record._files import read_capture
from amikit.record._schema import message_row, rows_to_frame

from ..conftest import DATA

MIXED = DATA / "asterisk22" / "mixed60.raw"
HOLD = DATA / "asterisk22" / "kinds" / "hold.raw"
QUEUE = DATA / "ami-samples" / "14_queue_answered__cacofonisk.ami"
BUSY = DATA / "ami-samples" / "07_busy_reject__cacofonisk.ami"


def messages(path: Path) -> list[Message]:
    return Parser().feed(read_capture(path))


def frame_of(msgs: list[Message]) -> pl.DataFrame:
    return rows_to_frame(message_row(m) for m in msgs)


def upto(msgs: list[Message], name: str) -> list[Message]:
    end = next(i for i, m in enumerate(msgs) if m.name == name)
    return msgs[: end + 1]


def test_board_live_agrees_with_batch_calls_on_a_real_capture() -> None:
    msgs = messages(MIXED)
    board = CallBoard(recent=100)
    board.extend(msgs)
    board.flush()
    batch = analysis.calls(frame_of(msgs))
    assert board.active_calls() == []
    assert board.finished_total == batch.height
    live = {c["call_id"]: c["disposition"] for c in board.finished_calls()}
    expected = dict(zip(batch["call_id"].to_list(), batch["disposition"].to_list(), strict=True))
    assert live == expected
    html = board._finished_html.value
    for disposition in set(expected.values()):
        assert f">{disposition}</span>" in html
    assert "data-n='0'" in board._status.value


def test_board_shows_active_calls_with_state_and_duration() -> None:
    msgs = messages(MIXED)
    board = CallBoard()
    board.extend(msgs[:2500])
    board.flush()
    active = board.active_calls()
    assert active, "calls are in progress a third of the way in"
    assert {c["state"] for c in active} <= {"ringing", "up", "on hold", "in queue", "dialling"}
    assert "up" in {c["state"] for c in active}
    html = board._active_html.value
    assert html.count("class='amikit-duration'") == len(active)
    assert f"data-n='{len(active)}'" in board._status.value


def state_of(board: CallBoard, msg: Message) -> str:
    call_id = board.call_of(msg["Uniqueid"])
    return next(c["state"] for c in board.active_calls() if c["call_id"] == call_id)


def test_board_call_states_on_real_captures() -> None:
    msgs = messages(HOLD)
    hold = upto(msgs, "Hold")
    board = CallBoard()
    board.extend(hold)
    assert state_of(board, hold[-1]) == "on hold"
    unhold = upto(msgs, "Unhold")
    board.extend(unhold[len(hold) :])
    assert state_of(board, unhold[-1]) == "up"
    busy = upto(messages(BUSY), "DialBegin")
    board = CallBoard()
    board.extend(busy)
    assert [c["state"] for c in board.active_calls()] == ["ringing"]


def test_board_queue_state() -> None:
    snapshot = [("Channel", "PJSIP/6001-00000001"), ("ChannelStateDesc", "Up"),
                ("CallerIDNum", "6001"), ("Uniqueid", "1700000000.1"),
                ("Linkedid", "1700000000.1")]  # fmt: skip
    board = CallBoard()
    board.feed(Message.from_pairs([("Event", "Newchannel"), *snapshot]))
    board.feed(Message.from_pairs([("Event", "QueueCallerJoin"), *snapshot, ("Queue", "sales")]))
    assert [c["state"] for c in board.active_calls()] == ["in queue"]
    board.feed(Message.from_pairs([("Event", "QueueCallerLeave"), *snapshot, ("Queue", "sales")]))
    assert [c["state"] for c in board.active_calls()] != ["in queue"]


def test_board_durations_tick_without_new_events() -> None:
    board = CallBoard()
    board.extend(upto(messages(HOLD), "Hold"))
    board.flush()
    before = board.renders
    board._throttle.rendered.clear()
    assert board._throttle.rendered.wait(5), "a tick renders although nothing arrived"
    assert board.renders > before


def test_board_on_a_recording() -> None:
    msgs = messages(MIXED)
    frame = frame_of(msgs)
    board = CallBoard(frame, recent=5)
    board.flush()
    assert board.finished_total == analysis.calls(frame).height
    assert len(board.finished_calls()) == 5
    assert "recording" in board._status.value


def test_ladder_follows_the_newest_call_and_draws_it() -> None:
    msgs = messages(BUSY)
    ladder = CallLadder()
    ladder.extend(msgs)
    ladder.flush()
    call_id = ladder.current_call()
    assert call_id is not None
    mine = ladder.messages()
    assert len(mine) >= len([m for m in msgs if m.get("Uniqueid")]) - 2
    status = ladder._status.value
    assert f"data-n='{len(mine)}'" in status and call_id in status
    drawing = ladder._drawing.value
    assert "<svg" in drawing or "amikit-tbl" in drawing


def test_ladder_grows_while_the_call_is_in_progress() -> None:
    msgs = messages(HOLD)
    ladder = CallLadder()
    ladder.extend(msgs[:20])
    ladder.flush()
    first = len(ladder.messages())
    ladder.extend(msgs[20:])
    ladder.flush()
    assert len(ladder.messages()) > first


def test_ladder_on_a_recording_picks_a_call() -> None:
    frame = frame_of(messages(MIXED))
    calls = analysis.calls(frame)
    call_id = calls["call_id"][3]
    ladder = CallLadder(frame, call_id)
    ladder.flush()
    assert ladder.current_call() == call_id
    assert (call_id, call_id) in ladder._picker.options
    assert ladder.messages(), "events of the chosen call"
