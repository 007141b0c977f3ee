"""The codec's rules, one test each (the spec in executable form)."""

from __future__ import annotations

import pytest

from amikit import Message
from amikit.protocol import (
    LocalProtocolError,
    Parser,
    ProtocolError,
    RemoteProtocolError,
    encode_action,
)
from amikit.record._files import read_capture
from tests.conftest import DATA, TRANSCRIPTS

CRLF = b"\r\n"


def frame(*lines: str) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode() + CRLF


def feed_all(data: bytes, **kw) -> list[Message]:
    return Parser(**kw).feed(data)


# -- banner ---------------------------------------------------------------------------


def test_banner_is_one_line_without_blank_line_and_may_share_a_chunk():
    p = Parser()
    msgs = p.feed(b"Asterisk Call Manager/11.0.0\r\n" + frame("Response: Success", "Ping: Pong"))
    assert p.banner == "Asterisk Call Manager/11.0.0"
    assert p.ami_version == "11.0.0"
    assert [m.name for m in msgs] == ["Success"]


def test_banner_split_across_reads():
    p = Parser()
    assert p.feed(b"Asterisk Call Man") == []
    assert p.banner is None
    assert p.feed(b"ager/2.8.0\r") == []
    msgs = p.feed(b"\n" + frame("Event: FullyBooted"))
    assert p.banner == "Asterisk Call Manager/2.8.0" and msgs[0].name == "FullyBooted"


def test_stream_without_banner():
    p = Parser()
    assert p.feed(frame("Event: Hangup"))[0].name == "Hangup"
    assert p.banner is None and p.ami_version is None


# -- key/value rules --------------------------------------------------------------------


def test_split_on_first_colon_values_may_contain_colons_and_be_empty():
    (m,) = feed_all(
        frame("Event: X", "AppData: 1?4:14", "To: 10.0.0.1:18023", "AccountCode: ", "Empty:")
    )
    assert m["AppData"] == "1?4:14"
    assert m["To"] == "10.0.0.1:18023"
    assert m["AccountCode"] == "" and m["Empty"] == ""
    assert m.items()[1:] == [
        ("AppData", "1?4:14"),
        ("To", "10.0.0.1:18023"),
        ("AccountCode", ""),
        ("Empty", ""),
    ]


def test_lookup_is_case_insensitive_and_keeps_spelling():
    (m,) = feed_all(frame("Event: CEL", "UniqueID: 1.2", "LinkedID: 1.1"))
    assert m.get("Uniqueid") == m.get("uniqueid") == m["UNIQUEID"] == "1.2"
    assert "linkedid" in m and "Nope" not in m
    assert m.keys() == ["Event", "UniqueID", "LinkedID"]
    assert m.get("Nope") is None and m.get("Nope", "x") == "x"
    with pytest.raises(KeyError):
        m["Nope"]


def test_repeated_headers_keep_order():
    (m,) = feed_all(
        frame("Event: Newchannel", "ChanVariable: a=1", "Channel: X", "ChanVariable: b=2")
    )
    assert m.get("ChanVariable") == "a=1"
    assert m.getall("chanvariable") == ["a=1", "b=2"]
    assert m.to_dict() == {"Event": "Newchannel", "ChanVariable": ["a=1", "b=2"], "Channel": "X"}
    assert len(m) == 4


def test_legacy_chanvariable_key_keeps_channel_name_with_colons():
    (m,) = feed_all(frame("Event: Rename", "ChanVariable(IAX2/10.0.0.1:4569-3): FOO=bar:baz"))
    assert m.items()[1] == ("ChanVariable(IAX2/10.0.0.1:4569-3)", "FOO=bar:baz")
    assert m.get("ChanVariable(IAX2/10.0.0.1:4569-3)") == "FOO=bar:baz"


def test_bare_lf_inside_a_value_stays_in_the_value():
    (m,) = feed_all(frame("Event: VarSet", "Value: OK\n", "AppData: l_tmp=OK\nmore"))
    assert m["Value"] == "OK\n"
    assert m.items()[2] == ("AppData", "l_tmp=OK\nmore")


def test_leading_blanks_of_a_value_are_skipped_like_asterisk_does():
    (m,) = feed_all(frame("Event: X", "A:   three", "B:\ttab"))
    assert m["A"] == "three" and m["B"] == "tab" and m.items()[1] == ("A", "three")


def test_crlf_and_lf_streams():
    lf = b"Event: A\nX: 1\n\nEvent: B\n\n"
    msgs = feed_all(lf)
    assert [(m.name, m.get("X")) for m in msgs] == [("A", "1"), ("B", None)]
    assert msgs[0].items() == [("Event", "A"), ("X", "1")]


def test_stray_blank_lines_between_frames_are_ignored():
    msgs = feed_all(frame("Event: A") + b"\r\n\r\n" + frame("Event: B"))
    assert [m.name for m in msgs] == ["A", "B"]


# -- decoding ---------------------------------------------------------------------------


def test_utf8_character_split_across_reads_is_not_corrupted():
    data = frame("Event: Newchannel", "CallerIDName: Привет, Zoë 👋")
    p = Parser()
    out = []
    for i in range(len(data)):
        out += p.feed(data[i : i + 1])
    assert out[0]["CallerIDName"] == "Привет, Zoë 👋"


def test_invalid_utf8_never_raises_and_raw_keeps_bytes():
    data = b"Event: X\r\nName: a\xff\xfeb\r\n\r\n"
    (m,) = feed_all(data)
    assert m["Name"] == "a\ufffd\ufffdb"
    assert m.raw == data
    assert "Name" in str(m)


def test_raw_is_the_exact_frame_bytes_including_the_blank_line():
    data = frame("Event: A", "X: 1") + frame("Event: B")
    msgs = feed_all(data)
    assert b"".join(m.raw for m in msgs) == data


# -- message kinds ----------------------------------------------------------------------


def test_event_response_and_hybrid():
    ev, resp, hybrid = feed_all(
        frame("Event: Hangup")
        + frame("Response: Success", "ActionID: 7", "Message: ok")
        + frame("Event: OriginateResponse", "ActionID: 9", "Response: Failure", "Reason: 3")
    )
    assert ev.is_event and not ev.is_response and ev.name == "Hangup"
    assert resp.is_response and not resp.is_event and resp.name == "Success"
    assert resp.action_id == "7"
    assert hybrid.is_event and hybrid.is_hybrid and not hybrid.is_response
    assert hybrid.name == "OriginateResponse" and hybrid["Response"] == "Failure"
    assert hybrid.action_id == "9"


def test_event_list_start_and_end_are_recognised():
    start, item, end, legacy_end = feed_all(
        frame("Response: Success", "ActionID: 1", "EventList: start", "Message: will follow")
        + frame("Event: CoreShowChannel", "ActionID: 1", "Channel: X")
        + frame(
            "Event: CoreShowChannelsComplete", "ActionID: 1", "EventList: Complete", "ListItems: 1"
        )
        + frame("Event: QueueStatusComplete", "ActionID: 2")
    )
    assert start.is_list_start and not start.is_list_end
    assert not item.is_list_start and not item.is_list_end
    assert end.is_list_end and legacy_end.is_list_end
    faxes = feed_all(frame("Response: Success", "ActionID: 3", "EventList: Start"))[0]
    assert faxes.is_list_start


def test_event_list_transcripts():
    data = read_capture(DATA / "ami-samples" / "protocol" / "pjsip_show_endpoint.txt")
    p = Parser()
    msgs = p.feed(data)
    assert p.buffered  # the fixture stops before the list end's blank line: it must wait
    msgs += p.feed(b"\n")
    starts = [m for m in msgs if m.is_list_start]
    ends = [m for m in msgs if m.is_list_end]
    assert len(starts) == 1 and len(ends) == 1
    assert ends[0].name == "EndpointDetailComplete"
    assert ends[0].action_id == starts[0].action_id


# -- Command output, both dialects --------------------------------------------------------


def test_command_output_old_dialect_from_a_real_transcript():
    data = read_capture(DATA / "ami-samples" / "protocol" / "rasterisk_command.txt")
    msgs = Parser().feed(data)
    reply = next(m for m in msgs if m.is_response)
    assert reply.name == "Follows" and reply.action_id == "generated_id"
    assert reply.output == [
        "Channel              Location             State   Application(Data)             ",
        "0 active channels",
        "0 active calls",
        "2 calls processed",
    ]
    version = Parser().feed(
        read_capture(DATA / "ami-samples" / "protocol" / "command_core_show_version.txt")
    )
    (reply,) = [m for m in version if m.is_response]
    assert reply.output[0].startswith("Asterisk 11.11.0")
    assert len(reply.output) == 1


def test_command_output_old_dialect_crlf_headers_lf_body_with_blank_lines_and_colons():
    body = b"Name/username: Host\nline2\n\nafter blank: x\n"
    data = (
        b"Asterisk Call Manager/2.10.6\r\n"
        + b"Response: Follows\r\nPrivilege: Command\r\nActionID: c1\r\n"
        + body
        + b"--END COMMAND--\r\n\r\n"
        + frame("Event: After")
    )
    for step in (len(data), 1, 7):
        p = Parser()
        msgs = []
        for i in range(0, len(data), step):
            msgs += p.feed(data[i : i + step])
        reply, after = msgs
        assert reply.items() == [
            ("Response", "Follows"),
            ("Privilege", "Command"),
            ("ActionID", "c1"),
        ]
        assert reply.output == ["Name/username: Host", "line2", "", "after blank: x"]
        assert reply.get("Name/username") is None
        assert after.name == "After"


def test_command_output_old_dialect_terminator_glued_to_last_line():
    data = b"Response: Follows\r\nPrivilege: Command\r\nno newline at end--END COMMAND--\r\n\r\n"
    (reply,) = feed_all(data)
    assert reply.output == ["no newline at end"]


def test_command_output_new_dialect():
    (reply,) = feed_all(
        frame(
            "Response: Success",
            "ActionID: 5",
            "Message: Command output follows",
            "Output: Channel   Location",
            "Output: 0 active channels",
            "Output: ",
        )
    )
    assert reply.output == ["Channel   Location", "0 active channels", ""]
    assert reply.name == "Success"


# -- limits and garbage -----------------------------------------------------------------


def test_oversized_complete_frame_is_reported_and_skipped_without_losing_neighbours():
    big = frame("Event: Big", "Data: " + "x" * 5000)
    data = frame("Event: Before") + big + frame("Event: After")
    with pytest.raises(RemoteProtocolError) as info:
        Parser(max_frame_size=1024).feed(data)
    assert [m.name for m in info.value.messages] == ["Before", "After"]
    assert isinstance(info.value, ProtocolError)


def test_oversized_frame_in_progress_is_dropped_with_bounded_memory_and_parsing_resumes():
    p = Parser(max_frame_size=1024)
    assert p.feed(frame("Event: Before"))[0].name == "Before"
    errors = 0
    got = []
    for _ in range(200):  # 200 KiB of one endless line
        try:
            got += p.feed(b"y" * 1024)
        except RemoteProtocolError as exc:
            errors += 1
            got += exc.messages
        assert p.buffered <= 1024 + 3
    assert errors == 1
    got += p.feed(b"\r\n\r\n" + frame("Event: After"))
    assert [m.name for m in got] == ["After"]


def test_frame_without_any_header_is_reported_and_skipped():
    with pytest.raises(RemoteProtocolError) as info:
        feed_all(frame("Event: A") + b"just garbage\r\n\r\n" + frame("Event: B"))
    assert [m.name for m in info.value.messages] == ["A", "B"]


def test_max_frame_size_must_be_sane():
    with pytest.raises(ValueError):
        Parser(max_frame_size=10)


# -- encoding -----------------------------------------------------------------------------


def test_encode_action_crlf_order_and_repeated_headers():
    data = encode_action(
        "Originate",
        [("Channel", "PJSIP/100"), ("Variable", ["A=1", "B=2"])],
        action_id="42",
        Async=True,
        Timeout=30000,
        Skip=None,
    )
    assert data == (
        b"Action: Originate\r\nActionID: 42\r\nChannel: PJSIP/100\r\n"
        b"Variable: A=1\r\nVariable: B=2\r\nAsync: true\r\nTimeout: 30000\r\n\r\n"
    )
    (m,) = Parser(banner=False).feed(data)
    assert m.is_action and m.getall("Variable") == ["A=1", "B=2"] and m.action_id == "42"


@pytest.mark.parametrize(
    ("fields", "kw"),
    [
        ({"Channel": "PJSIP/1\r\nAction: Hangup"}, {}),
        ({"Channel": "x\ny"}, {}),
        ({"Bad\r\nKey": "v"}, {}),
        ({"Bad:Key": "v"}, {}),
        ({"": "v"}, {}),
        ({}, {"Variable": ["ok", "evil\rvalue"]}),
        ({"Obj": object()}, {}),
    ],
)
def test_encode_action_rejects_injection_and_bad_input(fields, kw):
    with pytest.raises(LocalProtocolError):
        encode_action("Originate", fields, **kw)


def test_encode_action_rejects_cr_lf_in_action_name_and_id():
    with pytest.raises(LocalProtocolError):
        encode_action("Ping\r\nAction: Logoff")
    with pytest.raises(LocalProtocolError):
        encode_action("Ping", action_id="1\r\n")


def test_secrets_never_appear_in_reprs_or_str():
    login = encode_action("Login", Username="admin", Secret="hunter2")
    md5 = encode_action("Login", Username="admin", AuthType="MD5", Key="0123abcd")
    for data in (login, md5):
        for text in (repr(data), str(data), f"{data}", f"{data!r}"):
            assert "hunter2" not in text and "0123abcd" not in text
        (m,) = Parser(banner=False).feed(bytes(data))
        for text in (repr(m), str(m), m._repr_html_()):
            assert "hunter2" not in text and "0123abcd" not in text
        assert "********" in str(m)
    assert bytes(login).count(b"hunter2") == 1  # the wire still carries it


# -- transcripts --------------------------------------------------------------------------


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_transcripts_parse_without_error(path):
    data = read_capture(path)
    msgs = Parser().feed(data)
    assert msgs
    # one fixture marks holes as "[N bytes missing in capture file]" glued to a frame
    assert all(m.name or b"missing in capture file" in m.raw for m in msgs)
