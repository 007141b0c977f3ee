"""Packaging: ``python -m build`` makes an sdist and a wheel, and the wheel installs and runs
where no C compiler exists (the accelerators come built inside it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_wheel_installs_without_a_compiler_and_the_demo_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # sdist first, then the wheel built from it: a file missing from the sdist fails here
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], timeout=600)
    (sdist,) = dist.glob("amikit-*.tar.gz")
    (wheel,) = dist.glob("amikit-*.whl")
    with tarfile.open(sdist) as archive:
        sdist_files = {
            Path(name).relative_to(Path(name).parts[0]).as_posix()
            for name in archive.getnames()
            if len(Path(name).parts) > 1
        }
    assert {"setup.py", "pyproject.toml", "README.md", "LICENSE"} <= sdist_files
    assert "amikit/protocol/_speedups.c" in sdist_files
    wheel_files = set(zipfile.ZipFile(wheel).namelist())
    assert {"amikit/py.typed", "amikit/__init__.py", "amikit/cli.py"} <= wheel_files

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    # No compiler anywhere: only the venv's own bin on PATH, and CC naming none.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "CC", "CXX", "CFLAGS", "LDSHARED"))
    }
    env.update(PATH=str(venv / "bin"), CC="/nonexistent/cc", CXX="/nonexistent/c++")
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", str(wheel)], env=env, cwd=tmp_path, timeout=600)
    where = run([python, "-c", "import amikit; print(amikit.__file__)"], env=env, cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(venv), "must run the installed amikit"

    out = tmp_path / "recording"
    demo = run(
        [str(venv / "bin" / "amikit"), "demo", "--seconds", "3", "--seed", "7", "--out", str(out)],
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert re.search(r"^\d+ calls, \d+ answered\b", demo.stdout, re.MULTILINE), demo.stdout
    assert any(out.rglob("*.parquet")), "the demo records a Parquet dataset"
