"""The vectorised converter equals the codec on the awkward corners of AMI text.

Every case goes through the whole file path (``iter_text_rows``) at several chunk sizes and
through the live path (``rows_from_messages``), and is compared with ``message_row`` of
``Parser().feed(bytes)``.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amikit.record import polars_schema
from amikit.record._load import iter_text_rows
from amikit.record._vector import rows_from_messages
from tests.record.conftest import assert_same_rows, codec_messages, codec_rows

CASES = {
    "header_case_and_duplicates": (
        b"Event: Newchannel\r\nchannel: lower\r\nChannel: SIP/1-0\r\nChannel: SIP/dup\r\n"
        b"CHANNEL: upper\r\nUniqueid: 1.1\r\nuniqueid: 1.2\r\nActionID: a\r\nActionID: b\r\n\r\n"
    ),
    "event_key_case_variant": b"event: Hangup\r\nCause: 16\r\n\r\nEVENT: X\r\nEvent: Y\r\n\r\n",
    "response_and_action_variants": (
        b"response: Success\r\nMessage: m\r\n\r\nAction: Ping\r\nActionID: 1\r\n\r\n"
        b"Response: \r\nAction: Foo\r\n\r\nResponse:\r\n\r\n"
    ),
    "empty_values_and_colons": (
        b"Event: VarSet\r\nVariable: \r\nValue: a:b:c\r\nAppData:\r\nX::\r\n"
        b"Message:   spaced\r\nData:\ttabbed\r\n\r\n"
    ),
    "legacy_chanvariable_with_colons": (
        b"Event: Newexten\r\nChanVariable(IAX2/10.0.0.1:4569-3): FOO=bar:baz\r\n"
        b"ChanVariable(SIP/9170-0): X=1\r\nDestChanVariable(IAX2/1.2.3.4:1-1): Y=2\r\n\r\n"
    ),
    "bare_lf_inside_values": (
        b"Event: UserEvent\r\nUserEvent: x\r\nBody: line1\nline2\nEvent: fake\r\n\r\n"
        b"Event: Next\r\nValue: a\nChannel: b\r\n\r\n"
    ),
    "stray_blank_lines_and_cr": (
        b"\r\n\r\nEvent: A\r\n\r\n\r\n\r\nEvent: B\r\n\r\n\r\nEvent: C\r\n\r\n\nEvent: D\r\n\r\n"
        b"\r\r\nEvent: E\r\n\r\n"
    ),
    "garbage_frame_without_colon": b"Event: A\r\n\r\njust text\r\n\r\nEvent: B\r\n\r\n",
    "stray_line_in_frame": b"Event: A\r\nnot a header\r\nChannel: c\r\n\r\n",
    "invalid_utf8_and_non_ascii": (
        b"Event: A\r\nCallerIDName: Jos\xc3\xa9\r\nConnectedLineName: \xff\xfe\r\n\r\n"
        b"Event: B\r\nChannel: \xe2\x82\r\n\r\n"
    ),
    "non_ascii_without_errors": (
        b"Event: A\r\nCallerIDName: \xc3\xa9\xe2\x82\xac\r\nX: \xf0\x9f\x98\x80\r\n\r\n"
    ),
    "timestamps": (
        b"Event: A\r\nTimestamp: 1700000000.123456\r\n\r\nEvent: B\r\nTimestamp: 1e9\r\n\r\n"
        b"Event: C\r\nTimestamp: abc\r\n\r\nEvent: D\r\nTimestamp: 1700000000.1234567\r\n\r\n"
        b"Event: E\r\nTimestamp: \r\n\r\nEvent: F\r\nTimestamp: 17.5 \r\nTimestamp: 1\r\n\r\n"
        b"Event: G\r\ntimestamp: 5\r\n\r\n"
    ),
    "old_command_output": (
        b"Asterisk Call Manager/1.1\r\nResponse: Follows\r\nPrivilege: Command\r\nActionID: 9\r\n"
        b"Channel   Location\nSIP/1: up\n\nmore: text\n--END COMMAND--\r\n\r\n"
        b"Event: After\r\nChannel: x\r\n\r\n"
    ),
    "new_command_output": (
        b"Response: Success\r\nActionID: 1\r\nOutput: line 1\r\nOutput: a: b\r\nOutput: \r\n\r\n"
        b"Response: Follows\r\nOutput: x\r\nstray\r\n\r\n"
    ),
    "lf_stream": b"Event: A\nChannel: x\nValue: a\rb\n\nEvent: B\n\n",
    "banner_only_and_hybrid": (
        b"Asterisk Call Manager/11.0.0\r\nEvent: OriginateResponse\r\nResponse: Failure\r\n"
        b"ActionID: 5\r\n\r\n"
    ),
}


def check(data: bytes, tmp_path, chunk_sizes=(1 << 20, 97, 13)) -> None:
    messages = codec_messages(data)
    want = codec_rows(messages)
    path = tmp_path / "capture.raw"
    path.write_bytes(data)
    for chunk in chunk_sizes:
        chunks = list(iter_text_rows(path, chunk_bytes=chunk))
        got = pl.concat(chunks) if chunks else pl.DataFrame(schema=polars_schema())
        assert_same_rows(got, want)
    if messages:
        assert_same_rows(rows_from_messages(messages).drop("frame"), want)


@pytest.mark.parametrize("name", list(CASES))
def test_edge_case(tmp_path, name):
    check(CASES[name], tmp_path)


def test_oversized_frame_is_rejected_like_the_codec(tmp_path):
    data = b"Event: A\r\n\r\nEvent: Big\r\nX: " + b"y" * (1 << 20) + b"\r\n\r\nEvent: C\r\n\r\n"
    path = tmp_path / "big.raw"
    path.write_bytes(data)
    got = pl.concat(list(iter_text_rows(path)))
    assert got["event"].to_list() == ["A", "C"]


KEYS = st.sampled_from(
    [
        "Event",
        "event",
        "Channel",
        "channel",
        "Uniqueid",
        "Linkedid",
        "ActionID",
        "Response",
        "Action",
        "Message",
        "Timestamp",
        "Value",
        "Variable",
        "Cause-txt",
        "Foo",
        "Output",
        "ChanVariable(IAX2/1.2.3.4:5-1)",
        "ChanVariable(SIP/1)",
        "X(y",
        "DestChannel",
    ]
)
VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "a:b",
            " lead",
            "\tx",
            "1700000000.5",
            "1e3",
            "Follows",
            "Success",
            "x\ny",
            "é",
            "Hangup",
        ]
    ),
    st.text(st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=8),
)
LINE = st.one_of(
    st.tuples(KEYS, VALUES).map(lambda kv: f"{kv[0]}: {kv[1]}"),
    st.tuples(KEYS, VALUES).map(lambda kv: f"{kv[0]}:{kv[1]}"),
    st.sampled_from(["stray text", "--END COMMAND--"]),
)
FRAME = st.lists(LINE, min_size=1, max_size=6).map(lambda lines: "\r\n".join(lines))
SEPARATOR = st.sampled_from(["\r\n\r\n", "\r\n\r\n", "\r\n\r\n", "\r\n\r\n\r\n", "\r\n\r\n\n"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frames=st.lists(st.tuples(FRAME, SEPARATOR), min_size=1, max_size=12))
def test_random_frames_equal_the_codec(tmp_path, frames):
    data = "".join(f + sep for f, sep in frames).encode("utf-8")
    check(data, tmp_path, chunk_sizes=(1 << 20, 61))
