"""The one switch for amikit's optional C accelerators.

``setup.py`` builds them where a C compiler exists (``amikit.protocol._speedups``, the core of
:class:`amikit.Message`; ``amikit.record._columns``, the converter's splitter). Each has a
pure-Python twin with the same results. ``AMIKIT_PURE_PYTHON=1`` in the environment ignores a
built accelerator, to compare the two or to rule one out.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["accelerator", "pure_python"]


def pure_python() -> bool:
    """Whether ``AMIKIT_PURE_PYTHON`` asks for the pure-Python code (any value but 0)."""
    return os.environ.get("AMIKIT_PURE_PYTHON", "") not in ("", "0")


def accelerator(name: str) -> ModuleType | None:
    """The compiled module ``name`` (absolute), or None: not built, or switched off."""
    if pure_python():
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
