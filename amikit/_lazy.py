"""Lazy attributes of a package (PEP 562): names are imported on first use.

``import amikit`` stays light: polars, IPython and ipywidgets load only when a name that
needs them is first looked up. :func:`lazy_attributes` makes the module's ``__getattr__``
and ``__dir__``; the first lookup of a name stores it in the module, so later ones are
plain attribute reads.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str,
    table: Mapping[str, str],
    namespace: dict[str, Any],
    renamed: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``.

    ``table`` maps each lazy name to the module that defines it (absolute, or relative to
    ``package``); ``renamed`` maps a lazy name to its name in that module where they differ.
    """

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        attr = renamed.get(name, name) if renamed else name
        value = getattr(importlib.import_module(module, package), attr)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
