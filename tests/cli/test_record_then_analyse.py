"""End to end: simulated PBX -> ``amikit record`` -> ``amikit calls``/``timeline``/``stats``.

The recording folder (Parquet dataset + text log) and the text log alone give the same
calls, and those are the calls the PBX made.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import amikit
from amikit import AMIClient
from amikit.analysis import calls
from amikit.cli import main
from amikit.sim import PBX

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {"answered": "ANSWERED", "busy": "BUSY", "attended_transfer": "ANSWERED"}


def _wait_for_file_text(path: Path, needle: bytes, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and needle in path.read_bytes()):
        assert time.monotonic() < deadline, f"{needle!r} never reached {path}"
        time.sleep(0.05)  # polling a file another process writes, with a deadline


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rec") / "pbx"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AMI_USERNAME": "admin", "AMI_SECRET": "amikit"}
    with PBX(calls_per_minute=0, seed=11, speed=10.0) as pbx:
        proc = subprocess.Popen(
            [sys.executable, "-m", "amikit", "record", f"{pbx.host}:{pbx.port}", "--out", str(out)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            log = out / "ami-log.txt"
            _wait_for_file_text(log, b"FullyBooted")  # the recorder is logged in
            with AMIClient(pbx.host, pbx.port, "admin", "amikit", timeout=5.0) as client:
                started = [pbx.call(scenario) for scenario in SCENARIOS]
                deadline = time.monotonic() + 60
                while not all(c.finished for c in started) and time.monotonic() < deadline:
                    time.sleep(0.05)  # the PBX has no "all calls over" event: poll, bounded
                assert all(c.finished for c in started)
                client.action("UserEvent", UserEvent="RecordingDone")
            _wait_for_file_text(log, b"UserEvent: RecordingDone")
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
            assert proc.returncode in (0, 130), err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return out


def test_calls_on_the_recording_folder_and_on_its_text_log(recording, capsys):
    summary = calls(amikit.load(recording))
    assert summary.height == len(SCENARIOS)
    assert sorted(summary["disposition"].to_list()) == sorted(SCENARIOS.values())
    assert summary["end"].null_count() == 0
    for source in (recording, recording / "ami-log.txt"):
        assert main(["calls", str(source)]) == 0
        out = capsys.readouterr().out
        assert f"{len(SCENARIOS)} calls, {int(summary['answered'].sum())} answered" in out
        assert "BUSY" in out and "ANSWERED" in out
        for call_id in summary["call_id"]:
            assert call_id in out
    text_calls = calls(amikit.load(recording / "ami-log.txt"))
    assert text_calls.drop("n_events").equals(summary.drop("n_events"))


def test_timeline_and_stats_on_the_recording_folder(recording, capsys, tmp_path):
    summary = calls(amikit.load(recording))
    transfer = summary.filter(summary["transfers"] > 0)
    assert transfer.height == 1
    number = summary["call_id"].to_list().index(transfer["call_id"][0]) + 1
    svg = tmp_path / "transfer.svg"
    assert main(["timeline", str(recording), str(number), "--svg", str(svg)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"call {transfer['call_id'][0]}:")
    assert "Transfer" in out and svg.read_text().lstrip().startswith("<svg")
    assert main(["stats", str(recording)]) == 0
    out = capsys.readouterr().out
    assert f"{len(SCENARIOS)} calls" in out and "by disposition" in out
