"""One module per ``amikit`` subcommand: ``add_arguments(parser)`` and ``run(args) -> int``.

The exit codes live here, below the subcommands and the dispatcher (``amikit.cli``), so that
a subcommand never imports the dispatcher that imports it.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitStatus"]


class ExitStatus(IntEnum):
    """Process exit codes of the ``amikit`` command."""

    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH = 3
    CONNECT = 4
    INTERRUPTED = 130
