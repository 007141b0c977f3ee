"""`amikit summary`: the codec's view of a capture, in a terminal."""

from __future__ import annotations

import subprocess
import sys

from amikit.cli import main
from tests.conftest import DATA


def test_summary_of_the_bundled_real_capture(capsys):
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "mixed60.raw: 2,340,499 bytes, 5,477 messages" in out
    assert "banner: Asterisk Call Manager/11.0.0" in out
    assert "VarSet" in out and "1,225" in out


def test_summary_of_a_sample_file(capsys):
    path = DATA / "ami-samples" / "12_attended_transfer__cacofonisk.ami"
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "95 messages" in out and "calls (Linkedid): 2" in out


def test_missing_file_is_one_clear_line_and_status_1(capsys):
    assert main(["summary", "/nonexistent/file.raw"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("amikit: RecordingFormatError:") and "no such file" in err
    assert "Traceback" not in err


def test_a_recording_folder_is_pointed_to_stats_and_calls(capsys, tmp_path):
    sample = DATA / "ami-samples" / "12_attended_transfer__cacofonisk.ami"
    folder = tmp_path / "rec"
    assert main(["convert", str(sample), "--to", str(folder), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["summary", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("amikit: UsageError:") and "is a recording" in err
    assert f"amikit stats {folder}" in err and "Traceback" not in err


def test_no_command_prints_help_and_usage_status(capsys):
    assert main([]) == 2
    assert "summary" in capsys.readouterr().out


def test_python_dash_m_amikit_runs():
    out = subprocess.run(
        [sys.executable, "-m", "amikit", "--help"], capture_output=True, text=True, check=True
    )
    assert "summary" in out.stdout
