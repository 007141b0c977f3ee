"""Helpers to run the notebooks in a scratch copy of the repository layout."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ALL = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def scratch_copy(tmp: Path) -> Path:
    """``tmp/notebooks`` holding copies of the notebooks, ``tmp/tests`` the shared captures.

    Notebook 03 reads ``../tests/data/...``, as it does in a clone; the copies keep the
    repository clean (the notebooks write ``recordings/``).
    """
    target = tmp / "notebooks"
    target.mkdir(parents=True)
    for path in ALL:
        shutil.copy2(path, target / path.name)
    (tmp / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    return target
