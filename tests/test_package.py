"""Package-level promises: a light import, a complete public surface, typed."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import amikit

HEAVY = ("polars", "pyarrow", "IPython", "ipywidgets", "ipykernel")


def test_import_amikit_stays_light():
    code = (
        "import sys, amikit, amikit.protocol\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_names_are_listed_sorted_and_resolve():
    assert amikit.__all__ == sorted(amikit.__all__)
    for name in amikit.__all__:
        assert getattr(amikit, name) is not None  # a broken lazy import fails here
    for name in amikit._LAZY:
        assert name in dir(amikit)


def test_public_classes_show_the_public_module():
    assert amikit.Message.__module__ == "amikit"
    assert amikit.AuthenticationError.__module__ == "amikit"
    assert repr(amikit.RemoteProtocolError("x")).startswith("RemoteProtocolError")


def test_package_is_typed():
    assert (Path(amikit.__file__).parent / "py.typed").exists()


def test_unknown_attribute_is_an_attribute_error():
    try:
        amikit.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_c_accelerators_are_built_where_a_compiler_exists():
    # The C extension is optional (setup.py: optional=True), so a failed build would go
    # unnoticed and only make amikit slower: where a compiler exists, it must be there.
    import shutil

    from amikit._accel import pure_python
    from amikit.protocol import _message

    if pure_python():
        assert _message.IMPLEMENTATION == "Python"
        return
    if not (shutil.which("cc") or shutil.which("gcc")):
        return
    speedups = importlib.import_module("amikit.protocol._speedups")
    assert _message.IMPLEMENTATION == "C"
    assert issubclass(_message.Message, speedups.MessageCore)
