"""``amikit.sim`` stays light: the PBX needs neither polars nor the Jupyter stack."""

from __future__ import annotations

import subprocess
import sys


def test_import_sim_and_build_a_pbx_stays_light():
    code = (
        "import sys\n"
        "from amikit.sim import PBX, replay\n"
        "PBX(seed=1)\n"
        "heavy = [m for m in ('polars', 'pyarrow', 'IPython', 'ipywidgets') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_bad_arguments_are_clear_errors():
    import pytest

    from amikit.sim import PBX

    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        PBX(scenarios=["nope"])
    with pytest.raises(ValueError, match="calls_per_minute"):
        PBX(calls_per_minute=-1)
    with pytest.raises(ValueError, match="weights"):
        PBX(scenarios={"busy": 0})
