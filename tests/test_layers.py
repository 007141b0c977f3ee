"""The import graph holds the layers: data flows one way, and what other layers read is public.

Layer order (a module may import its own package and any lower layer, never a higher one):

    _accel, _noise, _reference, _loop_thread, _lazy, _timestamp, _privilege, _unionfind
        <  protocol (+ _exceptions)  <  client  <  sim, record  <  analysis
        <  jupyter, _cli  <  cli, __main__

``amikit/__init__.py`` is the facade: it names the public API of every layer (lazily) and is
left out. The root's private modules (rank 0 in ``RANK``, and ``amikit._exceptions``) are
shared by all layers above them: a rule two layers need lives there once. A private module below a
subpackage (``amikit.record._schema``) may only be imported from its own package.

The graph is read with :mod:`ast` from the sources (every ``import`` and ``from ... import``,
those under ``if TYPE_CHECKING:`` and inside functions included: a lazy upward import is still
an upward dependency). ``ALLOWED`` lists today's violations, each with the reason it is there;
the test fails on a violation not listed and on a listed one that is gone, so the list only
shrinks (issue 14 empties it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import amikit

PACKAGE = Path(amikit.__file__).parent

RANK = {
    "amikit._accel": 0,
    "amikit._noise": 0,
    "amikit._reference": 0,
    "amikit._loop_thread": 0,
    "amikit._lazy": 0,
    "amikit._timestamp": 0,
    "amikit._privilege": 0,
    "amikit._unionfind": 0,
    "amikit._exceptions": 1,
    "amikit.protocol": 1,
    "amikit.client": 2,
    "amikit.sim": 3,
    "amikit.record": 3,
    "amikit.analysis": 4,
    "amikit.jupyter": 5,
    "amikit._cli": 5,
    "amikit.cli": 6,
    "amikit.__main__": 6,
}

# (importer, imported): violations still allowed, each with its reason. Empty since issue 14
# part B (behaviour injected, what other layers read made public); keep it that way.
ALLOWED: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """The amikit modules (or packages) ``name`` imports, anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "amikit")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "amikit":
                continue
            for alias in node.names:  # `from amikit.record import _schema` is a module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    return found


def layer_of(name: str) -> str:
    """The RANK key ``name`` belongs to (its subpackage, or itself for root modules)."""
    parts = name.split(".")
    return ".".join(parts[:2])


def is_private_below_a_package(name: str) -> bool:
    parts = name.split(".")
    return len(parts) >= 3 and any(p.startswith("_") for p in parts[2:])


def violations() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for importer in MODULES:
        if importer == "amikit":
            continue  # the facade
        here = layer_of(importer)
        for imported in imports_of(importer):
            there = layer_of(imported)
            if there == here or imported == "amikit":
                continue
            if RANK[there] > RANK[here]:
                found[importer, imported] = f"upward ({here} -> {there})"
            elif is_private_below_a_package(imported):
                found[importer, imported] = f"private module of {there}"
    return found


def test_every_module_has_a_layer():
    assert {layer_of(m) for m in MODULES} - {"amikit"} <= set(RANK)


def test_no_new_upward_or_private_import():
    new = {edge: why for edge, why in violations().items() if edge not in ALLOWED}
    assert not new, "imports against the layers:\n" + "\n".join(
        f"  {a} -> {b}: {why}" for (a, b), why in sorted(new.items())
    )


def test_the_allow_list_only_shrinks():
    gone = ALLOWED - set(violations())
    assert not gone, "fixed, remove from ALLOWED: " + ", ".join(map(str, sorted(gone)))


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The walk itself: an upward import written into a copy of a module is reported."""
    source = MODULES["amikit.protocol._encode"].read_text(encoding="utf-8")
    fake = tmp_path / "_encode.py"
    fake.write_text(source + "\n\ndef _late():\n    from ..analysis import calls\n")
    monkeypatch.setitem(MODULES, "amikit.protocol._encode", fake)
    found = violations()
    assert found[("amikit.protocol._encode", "amikit.analysis")].startswith("upward")
