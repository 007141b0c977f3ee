"""Message API details: lookups that agree in odd frames, frames built by hand, copies."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timezone

from amikit import Message
from amikit.protocol import Parser, encode_action, encode_message


def frame(*lines: str) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode() + b"\r\n"


def parse_one(data: bytes) -> Message:
    (msg,) = Parser().feed(data)
    return msg


def test_get_is_the_first_value_whatever_the_spelling():
    msg = parse_one(frame("Event: CEL", "UNIQUEID: first", "Uniqueid: second", "uniqueid: 3"))
    for key in ("Uniqueid", "UNIQUEID", "uniqueid", "UniqueID"):
        assert msg.get(key) == "first"
        assert msg.getall(key) == ["first", "second", "3"]
    # to_dict keeps the spellings received: three keys, not one
    assert msg.to_dict() == {
        "Event": "CEL",
        "UNIQUEID": "first",
        "Uniqueid": "second",
        "uniqueid": "3",
    }


def test_first_line_in_another_spelling_still_comes_first():
    msg = parse_one(frame("EVENT: Odd", "Event: Later"))
    assert msg.get("Event") == msg.name == "Odd"
    assert msg.getall("event") == ["Odd", "Later"]


def test_key_like_text_after_a_bare_lf_is_part_of_the_value():
    msg = parse_one(frame("Event: VarSet", "Value: a\nLinkedid: not-a-header", "Uniqueid: 1"))
    assert msg.get("Linkedid") is None and "Linkedid" not in msg
    assert msg.get("Value") == "a\nLinkedid: not-a-header"
    assert msg.get("Uniqueid") == "1"


def test_keys_fold_ascii_only():
    kelvin = "\u212aey"  # KELVIN SIGN + "ey": str.lower() would make it "key"
    msg = parse_one(frame("Event: X", f"{kelvin}: v"))
    assert msg.get("key") is None and msg.getall("key") == []
    assert msg.get(kelvin) == "v" and msg.getall(kelvin) == ["v"]
    assert msg.get("Ünïcode") is None


def test_missing_keys_and_defaults():
    msg = parse_one(frame("Response: Success", "Message: Pong"))
    assert msg.get("Uniqueid") is None and msg.get("Uniqueid", "") == ""
    assert msg.get("Bad:Key") is None and msg.get("(x") is None
    assert msg.get(42) is None  # type: ignore[arg-type]
    assert 42 not in msg


def test_keys_values_len_iter():
    msg = parse_one(
        frame("Event: Newchannel", "Channel: A", "ChanVariable: x=1", "ChanVariable: y=2")
    )
    assert msg.keys() == ["Event", "Channel", "ChanVariable", "ChanVariable"]
    assert msg.values() == ["Newchannel", "A", "x=1", "y=2"]
    assert list(msg) == msg.keys() and len(msg) == 4


def test_message_from_one_whole_frame_reads_its_own_kind():
    lf = b"Event: A\nX: 1\n\n"
    assert Message(lf).items() == [("Event", "A"), ("X", "1")] and Message(lf).raw == lf
    crlf = frame("Event: A", "X: 1")
    assert Message(crlf).items() == [("Event", "A"), ("X", "1")] and Message(crlf).raw == crlf
    old_command = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 1\r\n"
        b"line one\nline: two\n--END COMMAND--\r\n\r\n"
    )
    by_hand, parsed = Message(old_command), parse_one(old_command)
    assert by_hand == parsed and by_hand.output == ["line one", "line: two"]
    assert by_hand.raw == parsed.raw == old_command


def test_only_the_exact_follows_line_opens_an_old_command_reply():
    msgs = Parser().feed(frame("Response: follows", "Message: not old-style") + frame("Event: B"))
    assert [m.name for m in msgs] == ["follows", "B"]


def test_event_list_cancelled_ends_the_list():
    msg = parse_one(frame("Event: X", "ActionID: 1", "EventList: Cancelled"))
    assert msg.is_list_end


def test_copy_and_pickle_keep_everything():
    msg = parse_one(frame("Event: Hangup", "Uniqueid: 1.2", "Cause: 16"))
    msg.received_at = datetime(2026, 11, 26, tzinfo=timezone.utc)
    msg.seq, msg.connection = 7, 2
    for clone in (copy.copy(msg), copy.deepcopy(msg), pickle.loads(pickle.dumps(msg))):
        assert clone == msg and clone.raw == msg.raw and clone.items() == msg.items()
        assert (clone.received_at, clone.seq, clone.connection) == (
            msg.received_at,
            7,
            2,
        )
        assert clone.get("uniqueid") == "1.2"


def test_encoded_messages_mask_secrets_in_their_repr():
    login = encode_message([("Action", "Login"), ("Username", "u"), ("Secret", "hunter2")])
    assert "hunter2" not in repr(login) and "hunter2" not in str(login)
    assert bytes(login) == b"Action: Login\r\nUsername: u\r\nSecret: hunter2\r\n\r\n"
    msg = Message.from_pairs([("Action", "Login"), ("Secret", "hunter2")])
    assert "hunter2" not in repr(msg.raw) and "hunter2" not in repr(msg)
    assert encode_action("Ping") == b"Action: Ping\r\n\r\n"


def test_feed_takes_any_bytes_like_object():
    data = frame("Event: A", "X: 1") + frame("Event: B")
    for kind in (bytes, bytearray, memoryview):
        parser = Parser()
        msgs = parser.feed(kind(data[:5])) + parser.feed(kind(data[5:]))
        assert [m.name for m in msgs] == ["A", "B"] and parser.buffered == 0


def test_a_copy_from_raw_and_kind_is_the_same_message():
    # what amikit.client does to wrap a response in its Message subclass
    class Wrapped(Message):
        __slots__ = ()

    parsed = Parser().feed(frame("Event: A", "X: 1") + frame("Response: Success", "ActionID: 1"))
    for msg in [*parsed, Message(b"Event: A\nX: 1\n\n"), Message(frame("Event: B"))]:
        again = Wrapped(msg.raw, msg._kind)
        assert again.raw == msg.raw and again.items() == msg.items() and again == msg
    old = b"Response: Follows\r\nPrivilege: Command\r\nx\n--END COMMAND--\r\n\r\n"
    (msg,) = Parser().feed(old)
    again = Wrapped(msg.raw, msg._kind)
    assert again.raw == old and again.output == ["x"] == msg.output
