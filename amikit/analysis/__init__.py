"""Call analysis on polars frames of AMI events.

Functions take a DataFrame or LazyFrame in the recording layout (``amikit.load`` /
``amikit.scan``) and return the same kind; they compose with ``.pipe``:

>>> calls = amikit.load("pbx.raw").pipe(drop_noise).pipe(collapse).pipe(calls)  # doctest: +SKIP

* noise: :func:`drop_noise`, :func:`fold_dialplan`, :func:`changes`;
* duplicates and repeats: :func:`collapse`, :class:`Collapser` (live);
* calls: :func:`with_call_id`, :func:`calls`, :class:`CallTracker` (live), :func:`with_epoch`;
* one call: :func:`timeline`, :func:`ladder`;
* statistics: :func:`stats`, :func:`event_rate`.

The call rules (which fields link channels, what a disposition is) live in one place,
:mod:`amikit.analysis._rules`, shared by the batch and live forms.
"""

from __future__ import annotations

from ._calls import calls, with_call_id, with_epoch
from ._collapse import Collapsed, Collapser, collapse
from ._ladder import Ladder, ladder
from ._noise import NOISE_EVENTS, changes, drop_noise, fold_dialplan, is_noise
from ._rules import outcome_text
from ._stats import event_rate, stats
from ._timeline import timeline
from ._tracker import CallTracker

__all__ = [
    "NOISE_EVENTS",
    "CallTracker",
    "Collapsed",
    "Collapser",
    "Ladder",
    "calls",
    "changes",
    "collapse",
    "drop_noise",
    "event_rate",
    "fold_dialplan",
    "is_noise",
    "ladder",
    "outcome_text",
    "stats",
    "timeline",
    "with_call_id",
    "with_epoch",
]
