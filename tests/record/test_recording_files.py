"""Files of a recording (issue 16, point 6): one text log per server, created private."""

from __future__ import annotations

import os
import stat
import warnings

import polars as pl
import pytest

import amikit
from amikit.protocol import encode_message
from amikit.record import Recorder, convert
from amikit.record._recorder import RecordingSink
from amikit.record._textlog import index_server
from amikit.sim import AMIServer
from tests.conftest import ASTERISK22
from tests.record.test_recorder_live import connect


def _record(server: AMIServer, path, n: int, **options) -> None:
    with connect(server) as client, Recorder(client, path, **options) as rec:
        for i in range(n):
            server.broadcast(encode_message([("Event", "Tick"), ("N", str(i))]))
        client.action("Ping")  # answered after the events sent before it
        rec.flush()


def test_a_second_server_recorded_into_the_same_folder_gets_its_own_text_log(tmp_path):
    with AMIServer() as first, AMIServer() as second:
        _record(first, tmp_path, 5)
        _record(second, tmp_path, 7)
        _record(first, tmp_path, 3)  # the first server again: back to its own log
        a, b = f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"
    second_log = tmp_path / f"ami-log-127.0.0.1%3A{second.port}.txt"
    assert sorted(tmp_path.glob("ami-log*.txt")) == sorted([tmp_path / "ami-log.txt", second_log])
    assert index_server(tmp_path / "ami-log.txt") == (True, a)
    assert index_server(second_log) == (True, b)
    for source, want in (
        (tmp_path, {a: 8, b: 7}),
        (tmp_path / "ami-log.txt", {a: 8}),
        (second_log, {b: 7}),
    ):
        ticks = amikit.load(source).filter(pl.col("event") == "Tick")
        assert dict(ticks.group_by("server").len().iter_rows()) == want, source
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # clean stops: the text logs hold nothing newer
        df = amikit.load(tmp_path, complete=False)
    assert df.amikit_report.tail_frames == 0


def _modes(root) -> dict[str, int]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = stat.S_IMODE(os.stat(path).st_mode)
    return out


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_recordings_are_private_unless_asked_otherwise(tmp_path, umask_022):
    from amikit.protocol import Parser
    from amikit.record._files import read_capture

    msgs = Parser().feed(read_capture(ASTERISK22[1]))[:50]
    for private, want_dir, want_file in ((True, 0o700, 0o600), (False, 0o755, 0o644)):
        out = tmp_path / f"private-{private}" / "rec"
        with RecordingSink(out, server="s:1", private=private) as sink:
            for m in msgs:
                sink.put(m)
        modes = _modes(out.parent)
        assert modes, "nothing written"
        for name, mode in modes.items():
            is_dir = os.path.isdir(out.parent / name)
            assert mode == (want_dir if is_dir else want_file), (name, oct(mode))
    converted = tmp_path / "converted"
    convert(ASTERISK22[1], converted)
    assert {m for name, m in _modes(converted).items() if not (converted / name).is_dir()} == {
        0o600
    }
    assert stat.S_IMODE(os.stat(converted).st_mode) == 0o700


def test_a_stricter_umask_still_applies(tmp_path):
    old = os.umask(0o077)
    try:
        with RecordingSink(tmp_path / "r", server="s:1", private=False) as sink:
            sink.put(amikit.Message(encode_message([("Event", "Tick")])))
    finally:
        os.umask(old)
    assert set(_modes(tmp_path / "r").values()) <= {0o700, 0o600}
