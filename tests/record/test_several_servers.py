"""Several PBXs recorded into one folder at once: one sink per server, nothing mixed up."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

import amikit
from amikit.record._dataset import MARKER, DatasetWriter
from amikit.record._recorder import RecordingSink, rotated_log_name
from amikit.record._textlog import index_path, index_server
from tests.conftest import ASTERISK22, SAMPLES
from tests.record.test_recorder_sink import stamped


def test_two_sinks_started_together_keep_a_text_log_each(tmp_path: Path, caplog) -> None:
    first, second = stamped(ASTERISK22[0]), stamped(SAMPLES[0])
    sink_a = RecordingSink(tmp_path, server="pbx-a:5038")
    sink_b = RecordingSink(tmp_path, server="pbx-b:5038")
    # started back to back, before either has written a frame (as `amikit record A B` does)
    sink_a.start()
    sink_b.start()
    try:
        for a, b in zip(first, second, strict=False):
            sink_a.put(a)
            sink_b.put(b)
        for m in first[len(second) :]:
            sink_a.put(m)
        for m in second[len(first) :]:
            sink_b.put(m)
    finally:
        sink_a.stop()
        sink_b.stop()
    assert "already holds a recording" not in caplog.text  # another server is no append
    logs = {index_server(p)[1]: p for p in tmp_path.glob("ami-log*.txt")}
    assert logs["pbx-a:5038"].name == "ami-log.txt"  # the first server's, as with one server
    assert logs["pbx-b:5038"].name == "ami-log-pbx-b%3A5038.txt"
    assert logs["pbx-a:5038"].read_bytes() == b"".join(m.raw for m in first)
    assert logs["pbx-b:5038"].read_bytes() == b"".join(m.raw for m in second)
    df = amikit.load(tmp_path)
    counts = dict(df.group_by("server").len().iter_rows())
    assert counts == {"pbx-a:5038": len(first), "pbx-b:5038": len(second)}
    for server, messages in (("pbx-a:5038", first), ("pbx-b:5038", second)):
        assert df.filter(pl.col("server") == server)["seq"].to_list() == [m.seq for m in messages]


def test_a_rotated_log_never_replaces_another_servers(tmp_path: Path) -> None:
    # two servers' logs rotated in the same microsecond: the second gets the next stamp
    taken = tmp_path / "ami-log-20260102T030405123456.txt"
    taken.write_bytes(b"pbx-a's frames\r\n\r\n")
    name = rotated_log_name(tmp_path, "20260102T030405123456")
    assert name == tmp_path / "ami-log-20260102T030405123457.txt"
    index_path(name).write_text("{}\n")  # an orphan index also keeps its name taken
    assert rotated_log_name(tmp_path, "20260102T030405123456").name.endswith("123458.txt")


def test_two_writers_marking_one_folder_keep_both_flags(tmp_path: Path) -> None:
    one, two = DatasetWriter(tmp_path), DatasetWriter(tmp_path)
    one.mark("subset")
    two.mark("run_columns")
    assert json.loads((tmp_path / MARKER).read_text()).keys() >= {"subset", "run_columns"}
    assert not list(tmp_path.glob(f".{MARKER}*"))  # no temporary left behind
