"""``amikit demo``: runs with no Asterisk and no network, folds the noise, ends with a summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_shows_live_calls_and_a_summary():
    out = subprocess.run(
        [sys.executable, "-m", "amikit", "demo", "--seconds", "4", "--seed", "3", "--speed", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    lines = out.splitlines()
    assert "simulated Asterisk 22 PBX on 127.0.0.1:" in lines[0]
    live = [line for line in lines if line[:8].strip().endswith("s") and "  " in line]
    assert any("Newchannel" in line for line in live)
    assert any("Hangup" in line for line in live)
    assert not any(" VarSet " in line or " Newexten " in line for line in live)
    summary = out[out.index("summary") :]
    assert "noise folded" in summary and "calls (Linkedid)" in summary
