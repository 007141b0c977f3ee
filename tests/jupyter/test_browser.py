"""A real browser: JupyterLab + Debian's Chromium, driven by Playwright.

Opens ``notebooks/01-quickstart.ipynb``, runs it, and checks that the live EventStream's
counter keeps advancing while the kernel is idle. Saves screenshots to ``artifacts/``.
Run alone with ``pytest -m browser``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._lab import (
    ARTIFACTS,
    JS_ALL_CELLS_DONE,
    JS_ERRORS,
    JS_KERNEL_IDLE,
    JS_RUN_ALL,
    chromium_page,
    lab_server,
)
from ._notebooks import scratch_copy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COUNT = ".amikit-eventstream .amikit-count"


def test_quickstart_runs_in_jupyterlab_and_the_stream_stays_live(
    browser_ready: None, tmp_path: Path, kernel_env: dict[str, str]
) -> None:
    folder = scratch_copy(tmp_path)
    shots = ARTIFACTS / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    with lab_server(folder, env=kernel_env) as lab, chromium_page() as page:
        try:
            page.goto(lab.url("01-quickstart.ipynb"))
            page.wait_for_function(JS_KERNEL_IDLE, timeout=90_000)
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # room for the widget
            page.evaluate(JS_RUN_ALL)
            page.wait_for_function(JS_ALL_CELLS_DONE, timeout=180_000, polling=250)
            assert page.evaluate(JS_ERRORS) == []
            # The counter element is replaced at every render (4/s): read it with JavaScript,
            # never wait for it to be "stable".
            page.wait_for_selector(COUNT, state="attached", timeout=30_000)
            read = f"() => +document.querySelector('{COUNT}').dataset.n"
            first = int(page.evaluate(read))
            # The notebook has finished: only the widget's own updates can move the counter.
            page.wait_for_function(
                f"() => +document.querySelector('{COUNT}').dataset.n > {first}",
                timeout=30_000,
            )
            assert page.evaluate(JS_KERNEL_IDLE), "the kernel must be idle while it advances"
            later = int(page.evaluate(read))
            assert later > first
            page.evaluate(
                "() => document.querySelector('.amikit-eventstream')"
                ".scrollIntoView({block: 'start'})"
            )
            page.screenshot(path=str(shots / "01-quickstart.png"))
            assert page.page_errors == []  # type: ignore[attr-defined]
        except Exception:
            page.screenshot(path=str(shots / "01-quickstart-failure.png"))
            (shots / "jupyterlab.log").write_text(lab.log())
            raise
