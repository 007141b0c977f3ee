"""A real browser: JupyterLab + Debian's Chromium, driven by Playwright.

Opens ``notebooks/01-quickstart.ipynb``, runs it, and checks that the live EventStream's
counter keeps advancing while the kernel is idle; then, in the same kernel, that TAB after
``%ami action Queue`` pops up amikit's action names and that ``%ami help Originate`` renders
its explanation. Saves screenshots to ``artifacts/browser/``.
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

# A new code cell at the end of the notebook holding `source`, in edit mode, cursor at the end.
JS_NEW_CELL = """async (source) => {
  const app = window.jupyterapp;
  const nb = app.shell.currentWidget.content;
  nb.activeCellIndex = nb.widgets.length - 1;
  await app.commands.execute('notebook:insert-cell-below');
  const cell = nb.activeCell;
  cell.model.sharedModel.setSource(source);
  await app.commands.execute('notebook:enter-edit-mode');
  cell.editor.focus();
  cell.editor.setCursorPosition({line: 0, column: source.length});
  cell.node.scrollIntoView({block: 'center'});
}"""
COMPLETER_ITEMS = """() => Array.from(document.querySelectorAll('.jp-Completer-item'))
  .map(li => li.getAttribute('data-value') || li.textContent.trim())"""


def _completion_and_help(page: object, shots: Path) -> None:
    """TAB completes action names in a %ami line; %ami help shows explain(). Screenshots."""
    page.evaluate(JS_NEW_CELL, "%ami action Queue")  # type: ignore[attr-defined]
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    page.wait_for_selector(".jp-Completer-item", state="visible", timeout=30_000)  # type: ignore[attr-defined]
    items = page.evaluate(COMPLETER_ITEMS)  # type: ignore[attr-defined]
    assert "QueueStatus" in items and "QueueAdd" in items, items
    page.screenshot(path=str(shots / "05-completion.png"))  # type: ignore[attr-defined]
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    page.evaluate(JS_NEW_CELL, "%ami help Originate")  # type: ignore[attr-defined]
    boxes = ".jp-OutputArea .amikit-explain"
    before = page.evaluate(f"() => document.querySelectorAll('{boxes}').length")  # type: ignore[attr-defined]
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => document.querySelectorAll('{boxes}').length > {before}", timeout=30_000
    )
    help_box = page.query_selector_all(boxes)[-1]  # type: ignore[attr-defined]
    text = help_box.inner_text()
    assert "Originate" in text and "Write class" in text and "ami.action(" in text, text
    help_box.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "05-ami-help.png"))  # type: ignore[attr-defined]


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
            _completion_and_help(page, shots)
            assert page.page_errors == []  # type: ignore[attr-defined]
        except Exception:
            page.screenshot(path=str(shots / "01-quickstart-failure.png"))
            (shots / "jupyterlab.log").write_text(lab.log())
            raise
