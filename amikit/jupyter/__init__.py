"""amikit in Jupyter: live widgets, ``%ami`` magics, rich display and ``explain``.

Widgets and magics import ipywidgets / IPython, so they load on first use: ``import
amikit.jupyter`` itself stays light, and ``amikit.explain`` works in a plain terminal.

* :func:`explain` -- what an event, action or field means, in plain words.
* :class:`EventStream`, :class:`CallBoard`, :class:`CallLadder` -- live views of a client
  or views of a recording (a polars frame from :func:`amikit.load`).
* ``%load_ext amikit`` -- the ``%ami`` line magic and ``%%ami`` cell magic.
"""

from __future__ import annotations

from .._lazy import lazy_attributes
from ._explain import (
    Explanation,
    FieldNote,
    describe_cause,
    describe_field,
    describe_state,
    explain,
)

__all__ = [
    "CallBoard",
    "CallLadder",
    "EventStream",
    "Explanation",
    "FieldNote",
    "describe_cause",
    "describe_field",
    "describe_state",
    "enable_rich_display",
    "explain",
]

_LAZY = {
    "enable_rich_display": "amikit.jupyter._display",
    "EventStream": "amikit.jupyter._stream",
    "CallBoard": "amikit.jupyter._board",
    "CallLadder": "amikit.jupyter._ladder",
}


__getattr__, __dir__ = lazy_attributes(
    __name__, _LAZY, globals(), renamed={"enable_rich_display": "enable"}
)
