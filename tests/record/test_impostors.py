"""Impostors refused (issue 16, point 5): only amikit recordings load as recordings."""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit import UsageError
from amikit.record import DatasetWriter, RecordingFormatError, convert
from amikit.record._dataset import list_parts
from amikit.record._load import IncompleteRecordingWarning
from tests.conftest import ASTERISK22


@pytest.fixture
def dataset(tmp_path) -> Path:
    out = tmp_path / "ds"
    convert(ASTERISK22[0], out, chunk_bytes=200_000)  # several parts
    assert len(list_parts(out)) >= 2
    return out


def test_a_foreign_parquet_file_is_refused_naming_what_is_missing(tmp_path):
    path = tmp_path / "other.parquet"
    pl.DataFrame({"a": [1, 2]}).write_parquet(path)
    for read in (amikit.load, lambda p: amikit.scan(p).collect()):
        with pytest.raises(RecordingFormatError, match=r"not an amikit recording.*'received_at'"):
            read(path)


def test_a_folder_of_foreign_parquet_files_is_refused(tmp_path):
    pl.DataFrame({"a": [1, 2]}).write_parquet(tmp_path / "x.parquet")
    with pytest.raises(RecordingFormatError, match="not an amikit recording"):
        amikit.load(tmp_path)


def test_a_file_with_the_columns_but_wrong_types_is_refused(tmp_path):
    path = tmp_path / "typed.parquet"
    pl.DataFrame({"received_at": ["x"], "kind": ["event"], "event": [1], "seq": [1]}).write_parquet(
        path
    )
    with pytest.raises(RecordingFormatError, match=r"'received_at' is String.*'event' is Int64"):
        amikit.load(path)


def _damage_inside(part: Path) -> None:
    data = bytearray(part.read_bytes())
    middle = len(data) // 2
    data[8:-8] = bytes((b * 7 + 13) % 256 for b in data[8:-8])  # PAR1 markers kept
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1" and middle
    part.write_bytes(bytes(data))


def _damage_pages_only(part: Path) -> None:
    data = bytearray(part.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    end = len(data) - 8 - footer
    for i in range(8, end, 3):  # the data pages; the footer stays valid
        data[i] ^= 0x5A
    part.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_damage_inside, _damage_pages_only])
def test_a_damaged_part_is_skipped_and_reported_like_a_torn_one(dataset, damage):
    whole = amikit.load(dataset)
    parts = list_parts(dataset)
    lost = pl.read_parquet(parts[1]).height
    damage(parts[1])
    with pytest.warns(IncompleteRecordingWarning, match=r"skipped part .*damaged"):
        df = amikit.load(dataset)
    assert df.height == whole.height - lost
    assert df.amikit_report.torn_parts == [str(parts[1])]
    with pytest.raises(RecordingFormatError, match="damaged"):
        amikit.load(dataset, strict=True)


def test_a_foreign_part_inside_a_recording_is_skipped_and_reported(dataset):
    whole = amikit.load(dataset)
    stray = dataset / "server=x" / "date=2024-01-01" / "part-0-stray.parquet"
    stray.parent.mkdir(parents=True)
    pl.DataFrame({"a": [1, 2]}).write_parquet(stray)
    with pytest.warns(IncompleteRecordingWarning, match="no 'received_at'"):
        df = amikit.load(dataset)
    assert df.height == whole.height
    with pytest.raises(RecordingFormatError):
        amikit.scan(dataset, strict=True)


def test_writing_rows_of_wrong_types_is_a_usage_error(tmp_path):
    rows = amikit.load(ASTERISK22[0]).head(3)
    with pytest.raises(UsageError, match="wrong column types: seq"):
        DatasetWriter(tmp_path).write(rows.with_columns(pl.lit("x").alias("seq")))
    with pytest.raises(UsageError, match="lack the column"):
        DatasetWriter(tmp_path).write(rows.drop("event"))


def test_a_recording_still_loads_without_warnings(dataset):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert amikit.load(dataset).height == amikit.load(ASTERISK22[0]).height
