"""`amikit calls`, `amikit timeline`, `amikit stats` on real captures."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from amikit.cli import main
from tests.conftest import DATA

MIXED60 = str(DATA / "asterisk22" / "mixed60.raw")
SAMPLE12 = str(DATA / "ami-samples" / "12_attended_transfer__cacofonisk.ami")


def test_calls_lists_one_line_per_call(capsys):
    assert main(["calls", MIXED60]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["#", "start", "call", "id"]
    assert "63 calls, 51 answered" in out
    first = lines[2].split()
    assert first[:8] == ["1", "2026-11-26", "18:41:56", "1795718516.0", "5550001", "->", "100",
                         "ANSWERED"]  # fmt: skip
    assert "BUSY" in out and "NO ANSWER" in out and "FAILED" in out
    assert "17 User busy" in out


def test_calls_csv_and_json_for_programs(capsys):
    assert main(["calls", SAMPLE12, "--format", "csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0].startswith("call_id,linkedids,start")
    assert len(csv) == 2
    assert main(["calls", SAMPLE12, "--format", "json"]) == 0
    assert '"disposition":"ANSWERED"' in capsys.readouterr().out.replace(" ", "")


def test_timeline_by_number_and_by_id_with_svg(capsys, tmp_path: Path):
    svg = tmp_path / "call.svg"
    assert main(["timeline", SAMPLE12, "1", "--svg", str(svg)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("call 195176c06ab8-1529941338.663:")
    assert "SIP/150010001 dials Local/ID730151@osvpi_route_phoneaccount" in out
    assert "completes an attended transfer" in out
    assert ET.parse(svg).getroot().tag.endswith("svg")
    assert main(["timeline", MIXED60, "1795718518.16", "--ladder"]) == 0
    out = capsys.readouterr().out
    assert "(originate)" in out and "BUSY" in out and "-->" in out


def test_timeline_unknown_call_is_one_line_error(capsys):
    assert main(["timeline", SAMPLE12, "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("amikit: UsageError:") and "Traceback" not in err
    assert main(["timeline", SAMPLE12, "7"]) == 1
    assert "#7" in capsys.readouterr().err


def test_stats_summary(capsys):
    assert main(["stats", MIXED60]) == 0
    out = capsys.readouterr().out
    assert "63 calls" in out and "answered 51 of 63 (ASR 81%)" in out
    for title in ("by disposition", "by hangup cause", "by number dialed", "by queue"):
        assert title in out
    assert main(["stats", MIXED60, "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("by,key,calls,answered,asr")


def test_commands_run_as_python_dash_m():
    out = subprocess.run(
        [sys.executable, "-m", "amikit", "calls", SAMPLE12],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "1 calls, 1 answered" in out.stdout
