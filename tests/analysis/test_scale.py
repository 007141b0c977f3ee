"""calls() at scale (issue 12): eager, lazy, sliced and dataset runs give the same calls.

The sliced engine reduces each slice of events on its own and stitches the slices'
facts; slices cut calls anywhere (down to a few rows), so any disagreement in the stitch
shows up as a different call table.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit.analysis import calls, with_call_id
from amikit.analysis._stitch import calls_in_slices
from amikit.protocol import Parser
from amikit.record._dataset import DatasetWriter
from amikit.record._schema import message_row, rows_to_frame
from amikit.sim._calls import Engine
from amikit.sim._scenarios import DEFAULT_MIX, SCENARIOS

from .conftest import KINDS, MIXED60, SAMPLES, frame

CAPTURES = [MIXED60, *KINDS, *SAMPLES]


def assert_same_calls(got: pl.DataFrame | pl.LazyFrame, want: pl.DataFrame) -> None:
    got = got.collect() if isinstance(got, pl.LazyFrame) else got
    assert got.schema == want.schema
    assert got.height == want.height
    for name in want.columns:
        assert got[name].equals(want[name]), name


def as_dataset(events: pl.DataFrame, root: Path, rows: int) -> Path:
    """``events`` as a recording dataset of parts of ``rows`` rows each."""
    writer = DatasetWriter(root, fsync=False)
    for offset in range(0, events.height, rows):
        writer.write(events.slice(offset, rows))
    return root


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_eager_lazy_sliced_and_dataset_agree(path: Path, tmp_path: Path) -> None:
    events = frame(path)
    want = calls(events)
    assert want.height > 0
    assert_same_calls(calls(events.lazy()), want)
    # slices smaller than a call (a few rows for the small samples): calls span them
    rows = 7 if events.height < 300 else events.height // 6 + 1
    assert_same_calls(calls_in_slices(events, rows), want)
    assert_same_calls(calls_in_slices(events.lazy(), events.height // 3 + 1), want)
    dataset = as_dataset(events, tmp_path / "rec", rows=events.height // 4 + 1)
    assert_same_calls(calls(amikit.scan(dataset)), want)


@pytest.mark.parametrize("path", [MIXED60, *SAMPLES], ids=lambda p: p.name)
def test_calls_group_the_events_as_with_call_id_does(path: Path) -> None:
    # with_call_id groups the whole frame at once (the pre-slicing algorithm): the sliced
    # engine must find the same calls with the same number of events each
    events = frame(path)
    grouped = (
        with_call_id(events)
        .filter(pl.col("call_id").is_not_null())
        .group_by("call_id")
        .agg(pl.len().cast(pl.Int64).alias("n_events"))
        .sort("call_id")
    )
    got = (
        calls_in_slices(events, events.height // 5 + 1)
        .select("call_id", "n_events")
        .sort("call_id")
    )
    assert got.equals(grouped)


def simulated(minutes: int, seed: int) -> list:
    engine = Engine(
        seed=seed,
        start_time=1_800_000_000.0,
        calls_per_minute=30,
        mix=DEFAULT_MIX,
        scenarios=SCENARIOS,
        cdr=True,
    )
    frames = engine.advance(1_800_000_000.0 + 60 * minutes)
    return Parser(banner=False).feed(b"".join(f.data for f in frames))


def test_simulator_sliced_agrees_with_eager_and_with_its_cdr() -> None:
    messages = simulated(minutes=10, seed=3)
    events = rows_to_frame(message_row(m, seq=i) for i, m in enumerate(messages, 1))
    events = events.filter(pl.col("event") != "Cdr")
    want = calls(events)
    assert want.height > 200
    assert_same_calls(calls_in_slices(events, events.height // 4 + 1), want)
    assert_same_calls(calls_in_slices(events.lazy(), events.height // 2 + 1), want)
    # the PBX's own CDR of each call's first channel (its Uniqueid is the call id)
    cdr: dict[str, str] = {}
    for m in messages:
        if m.name == "Cdr":
            cdr.setdefault(m["UniqueID"], m["Disposition"])
    ours = dict(zip(want["call_id"].to_list(), want["disposition"].to_list(), strict=True))
    finished = [call for call in ours if call in cdr]
    # only calls still up when the simulation stopped have no CDR yet
    assert len(finished) >= want.height - 10
    assert {call: ours[call] for call in finished} == {call: cdr[call] for call in finished}


def test_partitions_in_parallel_processes_give_the_calls_of_one_pass(tmp_path: Path) -> None:
    events = frame(MIXED60)
    want = calls(events)
    dataset = as_dataset(events, tmp_path / "rec", rows=997)
    got = calls_in_slices(amikit.scan(dataset), events.height // 4 + 1, workers=2)
    assert_same_calls(got, want)
    assert_same_calls(calls(events, workers=2), want)


def test_load_part_by_part_is_the_whole_scan(tmp_path: Path) -> None:
    # load() reads a dataset part by part and keeps each part's all-null columns as
    # constants: the frame is the same rows, columns and dtypes as one scan
    from amikit.record import polars_schema

    events = frame(MIXED60)
    dataset = as_dataset(events, tmp_path / "rec", rows=997)
    loaded = amikit.load(dataset)
    assert loaded.schema == pl.Schema(polars_schema())
    assert loaded.equals(amikit.scan(dataset).collect())
    assert loaded.height == events.height
