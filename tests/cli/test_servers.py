"""`amikit calls/stats DIR --server NAME` on a recording that holds two PBXs."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import amikit
from amikit.cli import main
from amikit.record._dataset import DatasetWriter
from tests.conftest import DATA

MIXED60 = DATA / "asterisk22" / "mixed60.raw"
SAMPLE12 = DATA / "ami-samples" / "12_attended_transfer__cacofonisk.ami"


def two_pbx_recording(root: Path) -> Path:
    writer = DatasetWriter(root, fsync=False)
    writer.write(amikit.load(MIXED60).with_columns(pl.lit("pbx-a:5038").alias("server")))
    writer.write(amikit.load(SAMPLE12).with_columns(pl.lit("pbx-b:5038").alias("server")))
    return root


def test_calls_and_stats_of_one_server(capsys, tmp_path: Path) -> None:
    rec = str(two_pbx_recording(tmp_path / "rec"))
    assert main(["calls", rec, "--server", "pbx-a:5038"]) == 0
    assert "63 calls, 51 answered" in capsys.readouterr().out
    assert main(["calls", rec, "--server", "pbx-b:5038", "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2  # header + its one call
    assert main(["calls", rec]) == 0
    assert "64 calls, 52 answered" in capsys.readouterr().out
    assert main(["stats", rec, "--server", "pbx-b:5038", "--format", "csv"]) == 0
    rows = pl.read_csv(capsys.readouterr().out.encode())
    assert rows.filter(pl.col("by") == "all")["calls"].to_list() == [1]


def test_an_unknown_server_is_a_clear_error(capsys, tmp_path: Path) -> None:
    rec = str(two_pbx_recording(tmp_path / "rec"))
    assert main(["stats", rec, "--server", "pbx-c:5038"]) != 0
    err = capsys.readouterr().err
    assert "pbx-c:5038" in err and "pbx-a:5038, pbx-b:5038" in err


def test_stats_of_several_servers_has_a_row_per_server(capsys, tmp_path: Path) -> None:
    rec = str(two_pbx_recording(tmp_path / "rec"))
    assert main(["stats", rec]) == 0
    out = capsys.readouterr().out
    section = out.split("by server\n", 1)[1].split("\n\n", 1)[0].splitlines()
    rows = {line.split()[0]: line.split()[1:3] for line in section[1:] if line.strip()}
    assert {k: v for k, v in rows.items() if k.startswith("pbx")} == {
        "pbx-a:5038": ["63", "51"],
        "pbx-b:5038": ["1", "1"],
    }
    assert main(["stats", rec, "--format", "csv"]) == 0
    table = pl.read_csv(capsys.readouterr().out.encode())
    per_server = table.filter(pl.col("by") == "server")
    assert dict(per_server.select("key", "calls").iter_rows()) == {
        "pbx-a:5038": 63,
        "pbx-b:5038": 1,
    }
    # one server (chosen, or the only one): no per-server rows, the output as it always was
    assert main(["stats", rec, "--server", "pbx-a:5038"]) == 0
    assert "by server" not in capsys.readouterr().out
    assert main(["stats", rec, "--server", "pbx-a:5038", "--format", "csv"]) == 0
    assert "server" not in pl.read_csv(capsys.readouterr().out.encode())["by"].to_list()
