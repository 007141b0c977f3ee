"""The docstring examples run as written (``>>>`` lines in every amikit module).

An example marked ``# doctest: +SKIP`` needs what a doctest cannot give it (a live PBX, a
client's stream, a Jupyter front end); every other example must give the output it shows.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import amikit

PACKAGE = Path(amikit.__file__).parent
MODULES = sorted(
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
    if p.name != "__main__.py"
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def examples(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module, name) if t.examples]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PACKAGE.parent)  # examples name the captures as in a clone
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in examples(name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_examples_are_found() -> None:
    # a finder that silently found nothing would pass every test above
    found = sum(len(t.examples) for name in MODULES for t in examples(name))
    assert found >= 40
