"""Fixtures for the Jupyter layer: a bare IPython shell, notebook paths, browser prerequisites."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture(scope="session")
def browser_ready() -> None:
    """Chromium + Playwright + JupyterLab present (installed by .ci/run, never by a test)."""
    from ._lab import require_browser

    require_browser()


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for child kernels: this checkout's amikit first on the path, no network."""
    path = os.environ.get("PYTHONPATH")
    value = str(ROOT) if not path else f"{ROOT}{os.pathsep}{path}"
    monkeypatch.setenv("PYTHONPATH", value)
    return dict(os.environ)


@pytest.fixture
def ip() -> Iterator[InteractiveShell]:
    """A bare IPython shell with ``%load_ext amikit`` (magics, display, completion)."""
    config = Config()
    config.HistoryAccessor.enabled = False
    shell = InteractiveShell(config=config)
    shell.run_line_magic("load_ext", "amikit")
    yield shell
    shell.run_line_magic("unload_ext", "amikit")
