"""The one switch for amikit's optional C accelerators.

``setup.py`` builds them where a C compiler exists (today one: ``amikit.protocol._speedups``,
the core of :class:`amikit.Message`). Each has a pure-Python twin with the same results.
``AMIKIT_PURE_PYTHON=1`` in the environment ignores a built accelerator, to compare the two
or to rule one out.

Only a *missing* accelerator (no compiler at install time) falls back silently. One that is
present but does not import (a ``.so`` built for another Python, a truncated file, an error in
its init) still falls back, but says so with an :class:`AcceleratorWarning`, once per module:
a broken build must not pass for a slow machine.
"""

from __future__ import annotations

import importlib
import os
import warnings
from types import ModuleType

__all__ = ["AcceleratorWarning", "accelerator", "pure_python"]

# Names already warned about: a second lookup of the same broken module stays quiet.
_warned: set[str] = set()


class AcceleratorWarning(RuntimeWarning):
    """A built C accelerator is present but failed to import; the pure-Python twin runs."""


def pure_python() -> bool:
    """Whether ``AMIKIT_PURE_PYTHON`` asks for the pure-Python code (any value but 0)."""
    return os.environ.get("AMIKIT_PURE_PYTHON", "") not in ("", "0")


def accelerator(name: str) -> ModuleType | None:
    """The compiled module ``name`` (absolute), or None: not built, switched off, or broken.

    Not built (the module itself is not found) and switched off are silent; broken warns once.
    """
    if pure_python():
        return None
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:  # not built: the pure-Python twin is the intended fallback
            return None
        _warn_broken(name, exc)  # present, but something it imports is missing
    except Exception as exc:  # ImportError from the loader, or any error in the module init
        _warn_broken(name, exc)
    return None


def _warn_broken(name: str, exc: BaseException) -> None:
    if name in _warned:
        return
    _warned.add(name)
    warnings.warn(
        f"amikit: the C accelerator {name} is present but does not import "
        f"({type(exc).__name__}: {exc}); using the pure-Python code, which is slower. "
        "Reinstall amikit to rebuild it, or set AMIKIT_PURE_PYTHON=1 to skip it.",
        AcceleratorWarning,
        stacklevel=3,
    )
