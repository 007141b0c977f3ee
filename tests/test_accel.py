"""The accelerator switch: a missing C module falls back quietly, a broken one warns once."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from pathlib import Path

import pytest

from amikit import _accel
from amikit._accel import AcceleratorWarning, accelerator


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """A fresh importable package (unique per test) on sys.path; returns (name, folder)."""
    name = "accelpkg_" + request.node.name.replace("[", "_").replace("]", "_")
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("AMIKIT_PURE_PYTHON", raising=False)
    monkeypatch.setattr(_accel, "_warned", set())
    importlib.invalidate_caches()
    yield name, folder
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def test_a_missing_accelerator_falls_back_without_a_word(package):
    name, _ = package
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert accelerator(f"{name}._speedups") is None


def test_a_present_accelerator_is_used(package):
    name, folder = package
    (folder / "_speedups.py").write_text("FAST = True\n")
    module = accelerator(f"{name}._speedups")
    assert module is not None and module.FAST


def test_a_corrupt_extension_file_warns_once_and_falls_back(package):
    # what a truncated or foreign-platform build looks like to the loader
    name, folder = package
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (folder / f"_speedups{suffix}").write_bytes(b"not a shared object\n" * 10)
    with pytest.warns(AcceleratorWarning, match=rf"{name}\._speedups is present") as record:
        assert accelerator(f"{name}._speedups") is None
        assert accelerator(f"{name}._speedups") is None
    assert len(record) == 1
    assert "pure-Python" in str(record[0].message)


def test_an_accelerator_whose_own_import_is_missing_is_broken_not_missing(package):
    # ModuleNotFoundError for a module the accelerator needs is not "not built"
    name, folder = package
    (folder / "_speedups.py").write_text("import accel_dependency_that_is_not_there\n")
    with pytest.warns(AcceleratorWarning, match="accel_dependency_that_is_not_there"):
        assert accelerator(f"{name}._speedups") is None


def test_an_accelerator_failing_in_its_init_warns(package):
    name, folder = package
    (folder / "_speedups.py").write_text("raise SystemError('bad init')\n")
    with pytest.warns(AcceleratorWarning, match="SystemError: bad init"):
        assert accelerator(f"{name}._speedups") is None


def test_amikit_pure_python_skips_even_a_broken_accelerator(package, monkeypatch):
    name, folder = package
    (folder / "_speedups.py").write_text("raise SystemError('bad init')\n")
    monkeypatch.setenv("AMIKIT_PURE_PYTHON", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert accelerator(f"{name}._speedups") is None
