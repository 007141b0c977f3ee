"""``amikit demo``: no Asterisk, no network; records, folds the noise, summarises the calls."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit._cli.demo import LOCAL_CHANNELS
from amikit.analysis import calls

ROOT = Path(__file__).resolve().parents[2]


def _demo(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "amikit", "demo", "--seed", "3", "--speed", "3", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


@pytest.mark.slow
def test_demo_records_shows_live_calls_and_ends_with_calls_and_a_ladder(tmp_path):
    out_dir = tmp_path / "demo"
    out = _demo("--seconds", "5", "--out", str(out_dir))
    lines = out.splitlines()
    assert "simulated Asterisk 22 PBX on 127.0.0.1:" in lines[0]
    assert lines[1] == f"recording to {out_dir} (text log + Parquet)"
    assert LOCAL_CHANNELS in lines[:5]  # Local channels explained before the first one
    live = [line for line in lines if re.match(r"^\s*\d+\.\d\ds  ", line)]
    assert any("DialBegin" in line for line in live)
    assert any("Hangup" in line for line in live)
    # fewer, more telling lines: none that only restates another
    restating = ("Newchannel", "DialState", "BridgeLeave")
    assert not any(f" {name} " in line for line in live for name in restating)
    assert not any("OriginateResponse" in line and "Success" in line for line in live)
    noisy = ("VarSet", "Newexten", "DeviceStateChange")
    assert not any(f" {name} " in line for line in live for name in noisy)

    summary = out[out.index("\nsummary") :]
    assert "noise folded" in summary and "repeats folded" in summary
    received = int(re.search(r"events received : ([\d,]+)", summary)[1].replace(",", ""))

    # the recording is complete and the calls table is the analysis of it
    events = amikit.load(out_dir)
    assert events.filter(pl.col("kind") == "event").height == received
    assert amikit.load(out_dir / "ami-log.txt").height == events.height
    expected = calls(events)
    table = out[out.index("calls in the recording") :]
    footer = f"{expected.height} calls, {int(expected['answered'].sum())} answered"
    unfinished = int(expected["in_progress"].sum())
    if unfinished:  # the calls still up are counted apart, as `amikit calls` does
        footer += f"; {unfinished} in progress, {int(expected['joined_late'].sum())} joined late"
    assert footer in table
    rows = [line for line in table.splitlines() if re.match(r"^\s*\d+\s+\d\d:\d\d:\d\d", line)]
    assert len(rows) == expected.height
    assert len(live) <= 8 * expected.height + 5  # was about 16 lines a call
    first = expected.row(0, named=True)
    assert f"{first['caller_num']} -> {first['dialed']}" in rows[0]
    assert any("ANSWERED" in row for row in rows)
    # a call still up when the demo stopped reads "in progress", never a guessed outcome
    for row, call in zip(rows, expected.iter_rows(named=True), strict=True):
        assert ("in progress" in row) == call["in_progress"]
    picked = int(re.search(r"ladder of call #(\d+)", out)[1])
    assert not expected.row(picked - 1, named=True)["in_progress"]
    assert not expected.row(picked - 1, named=True)["joined_late"]

    # one ladder: printed as text and saved as SVG
    saved = re.search(r"ladder saved to (\S+\.svg)", out)
    assert saved, out[-2000:]
    svg = Path(saved[1])
    assert svg.parent == out_dir and svg.read_text().lstrip().startswith("<svg")
    ladder_text = out[out.index("ladder of call #") : out.index("ladder saved to")]
    assert "|" in ladder_text and "hangup" in ladder_text
    assert f"amikit calls {out_dir}" in out


@pytest.mark.slow
def test_demo_default_records_to_a_new_temporary_folder():
    out = _demo("--seconds", "2")
    folder = Path(re.search(r"recording to (\S+) ", out)[1])
    try:
        assert folder.name.startswith("amikit-demo-") and (folder / "ami-log.txt").exists()
        assert amikit.load(folder).height > 0
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
