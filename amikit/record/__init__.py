"""Recording AMI traffic (raw text log, Parquet dataset) and loading it as polars frames.

polars loads only when a loader or writer is used (``import amikit.record`` stays light).
The recording layout (``message_row``, ``WIDE_COLUMNS``, ``rows_to_frame``, ...) is public
here: the analysis and Jupyter layers read it from this package, not from its modules.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._lazy import lazy_attributes
from ._schema import (
    GAP_EVENT,
    META_COLUMNS,
    WIDE_COLUMNS,
    gap_row,
    message_pairs,
    message_row,
    polars_schema,
    rows_to_frame,
)

__all__ = [
    "GAP_EVENT",
    "META_COLUMNS",
    "WIDE_COLUMNS",
    "AlreadyConvertedError",
    "DatasetWriter",
    "IncompleteRecordingWarning",
    "LoadReport",
    "Recorder",
    "RecordingFormatError",
    "TextLogWriter",
    "convert",
    "gap_row",
    "index_path",
    "load",
    "message_pairs",
    "message_row",
    "polars_schema",
    "read_capture",
    "read_index",
    "recording_format",
    "rows_to_frame",
    "scan",
]

_LAZY = {
    "load": "._load",
    "scan": "._load",
    "LoadReport": "._load",
    "RecordingFormatError": "._load",
    "IncompleteRecordingWarning": "._load",
    "convert": "._convert",
    "AlreadyConvertedError": "._convert",
    "DatasetWriter": "._dataset",
    "TextLogWriter": "._textlog",
    "Recorder": "._recorder",
    "read_capture": "._files",
    "index_path": "._textlog",
    "read_index": "._textlog",
}


def recording_format(path: str | os.PathLike[str]) -> str:
    """What ``path`` holds: ``"dataset"``, ``"text-dir"``, ``"parquet"`` or ``"text"``.

    Raises :class:`RecordingFormatError` (one line that says why) for anything else.
    """
    from ._load import _sniff

    return _sniff(Path(path))


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
