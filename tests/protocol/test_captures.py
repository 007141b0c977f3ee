"""Every real capture parses completely, and identically at any chunking."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amikit.protocol import Message, Parser
from amikit.record._files import read_capture
from tests.conftest import ASTERISK22, CAPTURES, SAMPLES


def parse_in_chunks(data: bytes, sizes) -> list[Message]:
    parser = Parser()
    out: list[Message] = []
    pos = 0
    it = iter(sizes)
    while pos < len(data):
        n = next(it)
        out.extend(parser.feed(data[pos : pos + n]))
        pos += n
    assert parser.buffered == 0, "bytes left over after the last frame"
    return out


def signature(messages: list[Message]) -> list[tuple[bytes, list[tuple[str, str]]]]:
    return [(m.raw, m.items()) for m in messages]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_message_count_matches_its_header(path):
    header = path.read_text("utf-8", "replace").split("\n\n", 1)[0]
    expected = int(re.search(r"Contents: \d+ events \((\d+) messages\)", header).group(1))
    messages = Parser().feed(read_capture(path))
    assert len(messages) == expected
    assert all(m.is_event for m in messages)


@pytest.mark.parametrize("path", ASTERISK22, ids=lambda p: p.name)
def test_asterisk22_capture_frame_count_and_banner(path):
    data = read_capture(path)
    parser = Parser()
    messages = parser.feed(data)
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert parser.ami_version == "11.0.0"
    # no old-style Command output in these captures: every blank line ends one frame
    assert len(messages) == data.count(b"\r\n\r\n")
    assert b"".join(m.raw for m in messages) == data.split(b"\r\n", 1)[1]
    assert messages[0].is_response and messages[0].get("Message") == "Authentication accepted"


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_whole_equals_one_byte_at_a_time_and_random_chunks(path):
    data = read_capture(path)
    whole = signature(Parser().feed(data))
    rng = random.Random(path.name)
    chunked = signature(parse_in_chunks(data, iter(lambda: rng.randint(1, 9000), None)))
    assert chunked == whole
    if len(data) < 300_000:
        assert signature(parse_in_chunks(data, iter(lambda: 1, None))) == whole


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=len(CAPTURES) - 1),
    sizes=st.lists(st.integers(min_value=1, max_value=4096), min_size=1, max_size=64),
)
def test_any_chunking_gives_the_same_messages(index, sizes):
    data = read_capture(CAPTURES[index])[:200_000]
    cut = data.rfind(b"\r\n\r\n") + 4
    data = data[:cut]
    whole = signature(Parser().feed(data))
    cycle = sizes * (len(data) // max(1, sum(sizes)) + 1)
    assert signature(parse_in_chunks(data, iter(cycle))) == whole
