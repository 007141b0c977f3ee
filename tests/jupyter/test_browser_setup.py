"""A plain ``pytest`` never installs anything; without a browser the browser test is skipped
locally with one line, and fails in CI (``CI=true``), where ``.ci/run`` installs it first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ._lab import missing_browser_parts, require_browser

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "/nonexistent/chromium"


def test_a_missing_browser_is_a_one_line_skip_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert NOWHERE in missing_browser_parts(NOWHERE)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_browser(NOWHERE)
    reason = str(skipped.value)
    assert "\n" not in reason and NOWHERE in reason and ".ci/install-browser" in reason


def test_a_missing_browser_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="browser test needs"):
        require_browser(NOWHERE)


# tests that install only into a venv of their own under the test's temporary folder
# (the wheel test: a fresh venv with no compiler), never into the machine or the suite's venv
THROWAWAY_VENVS = {"test_wheel.py"}


def test_no_test_installs_anything_on_the_machine() -> None:
    # the argument lists of a command that installs (comments may name them)
    installs = re.compile(
        r'"apt-get"|"pip",\s*"install"|"install-browser"|"playwright",\s*"install"'
    )
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("*.py")
        if path.name not in THROWAWAY_VENVS | {Path(__file__).name}
        and installs.search(path.read_text())
    ]
    assert offenders == [], "installation belongs to .ci/run, not to the test suite"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "install-browser" in ci
