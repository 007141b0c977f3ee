"""Ctrl-C still ends a blocking ``client.events()`` loop after polars has been imported.

polars installs its own C-level SIGINT handler when imported (``amikit.load`` and the
analysis import it); under it an untimed wait is never woken by Ctrl-C.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, signal, sys, threading, time
import polars  # as amikit.load / amikit.analysis would
from amikit import AMIClient
from amikit.sim import PBX

with PBX(calls_per_minute=0) as pbx, AMIClient(pbx.host, pbx.port, "admin", "amikit") as c:
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    start = time.monotonic()
    try:
        for _ in c.events("NeverSent"):
            pass
    except KeyboardInterrupt:
        print(f"interrupted after {time.monotonic() - start:.2f}")
"""


def test_ctrl_c_ends_an_event_loop_after_polars_is_imported():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    waited = float(out.stdout.split()[-1])
    assert waited < 3.0
