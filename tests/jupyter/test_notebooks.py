"""Every notebook runs top to bottom against the built-in simulator, with no network."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ._notebooks import ALL, scratch_copy

pytestmark = pytest.mark.slow


def test_there_are_five_teaching_notebooks() -> None:
    assert [p.name for p in ALL] == [
        "01-quickstart.ipynb",
        "02-anatomy-of-a-call.ipynb",
        "03-debugging-a-recording.ipynb",
        "04-statistics.ipynb",
        "05-the-wire.ipynb",
    ]
    for path in ALL:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
            f"{path.name} is committed with outputs"
        )


@pytest.mark.parametrize("name", [p.name for p in ALL])
def test_notebook_runs_top_to_bottom(name: str, tmp_path: Path, kernel_env: dict[str, str]) -> None:
    folder = scratch_copy(tmp_path)
    nb = nbformat.read(folder / name, as_version=4)
    client = NotebookClient(
        nb,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()  # raises CellExecutionError with the cell and traceback
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert errors == []
    text = nbformat.writes(nb)
    assert "Traceback" not in text
