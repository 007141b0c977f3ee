"""binder/ builds a working environment: a fresh venv from binder/ files runs every notebook."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ._notebooks import ALL, ROOT

pytestmark = pytest.mark.slow


def test_binder_files_follow_repo2docker_conventions() -> None:
    binder = ROOT / "binder"
    requirements = (binder / "requirements.txt").read_text().split("\n")
    assert any(line.startswith("-e .") for line in requirements), "the package itself"
    assert (binder / "runtime.txt").read_text().startswith("python-3.")
    post = binder / "postBuild"
    assert os.access(post, os.X_OK)
    text = post.read_text()
    assert text.startswith("#!/bin/bash") and "set -euo pipefail" in text
    assert "notebooks/01-quickstart.ipynb" in text
    assert not (ROOT / ".binder").exists(), "repo2docker refuses binder/ and .binder/ together"


@pytest.mark.timeout(1800)
def test_fresh_binder_environment_runs_every_notebook(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "binder-check"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=1700,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert f"binder-check: {len(ALL)} notebooks ran" in result.stdout
    assert str(tmp_path / "venv") in result.stdout  # the fresh venv's own kernel
