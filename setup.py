"""The optional C accelerator; everything else is declared in pyproject.toml.

``amikit.protocol._speedups`` is the core of :class:`amikit.Message`. It has a pure-Python
twin that gives the same results (tests compare the two on every real capture).
``optional=True``: with no C compiler the build skips it and amikit runs on the pure-Python
code. ``AMIKIT_PURE_PYTHON=1`` at run time ignores a built extension.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "amikit.protocol._speedups",
            ["amikit/protocol/_speedups.c"],
            optional=True,
        ),
    ],
)
