"""A recording dataset reads in DuckDB and in pyarrow's dataset API as amikit.load reads it.

The dataset is the recorder's own layout (``server=/date=`` Hive partitions, the full
schema in every part), written from the real Asterisk 22 capture by ``DatasetWriter``
with two servers, so the partitions are real ones.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit.record._dataset import DatasetWriter

from ..conftest import DATA

duckdb = pytest.importorskip("duckdb")
pa_dataset = pytest.importorskip("pyarrow.dataset")

MIXED60 = DATA / "asterisk22" / "mixed60.raw"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events = amikit.load(MIXED60)
    root = tmp_path_factory.mktemp("interop") / "rec"
    writer = DatasetWriter(root, fsync=False)
    half = events.height // 2
    writer.write(events.head(half).with_columns(pl.lit("pbx-a:5038").alias("server")))
    writer.write(events.slice(half).with_columns(pl.lit("pbx-b:5038").alias("server")))
    return root


def _same_as_load(other: pl.DataFrame, loaded: pl.DataFrame) -> None:
    assert other.height == loaded.height
    # DuckDB names its session zone "Etc/UTC": the same instants, UTC by another name
    assert {str(t.time_zone) for t in other.schema.values() if isinstance(t, pl.Datetime)} <= {
        "UTC",
        "Etc/UTC",
    }
    other = other.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC"))
    # the Hive partition columns come on top (`date`); amikit's columns are all there
    assert set(loaded.columns) <= set(other.columns)
    assert other.select(loaded.columns).schema == loaded.schema
    key = ["server", "seq"]
    assert other.select(loaded.columns).sort(key).equals(loaded.sort(key))


def test_duckdb_reads_the_dataset_with_hive_partitioning(dataset: Path) -> None:
    loaded = amikit.load(dataset)
    query = f"SELECT * FROM read_parquet('{dataset}/**/*.parquet', hive_partitioning = true)"
    count = duckdb.sql(f"SELECT count(*) FROM ({query})").fetchall()[0][0]
    assert count == loaded.height
    servers = duckdb.sql(f"SELECT DISTINCT server FROM ({query}) ORDER BY 1").fetchall()
    assert [s for (s,) in servers] == ["pbx-a:5038", "pbx-b:5038"]
    _same_as_load(pl.from_arrow(duckdb.sql(query).arrow()), loaded)


def test_pyarrow_dataset_reads_the_dataset(dataset: Path) -> None:
    loaded = amikit.load(dataset)
    import pyarrow as pa

    # the partition keys are declared with the strings' type in the parts (Arrow large
    # strings): pyarrow's inferred "hive" would type `server` as a plain string and
    # refuse to merge it with the `server` column every part holds
    keys = pa.schema([("server", pa.large_string()), ("date", pa.large_string())])
    hive = pa_dataset.partitioning(keys, flavor="hive")
    table = pa_dataset.dataset(dataset, format="parquet", partitioning=hive)
    assert table.count_rows() == loaded.height
    _same_as_load(pl.from_arrow(table.to_table()), loaded)
