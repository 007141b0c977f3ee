"""Frames of the real captures for the analysis tests.

Built with ``amikit.load`` when the loaders are present, else straight from the codec
(``Parser`` -> ``message_row`` -> ``rows_to_frame``); both give the recording layout.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl
import pytest

from amikit.protocol import Message, Parser
from amikit.record._files import read_capture
from amikit.record._schema import message_row, rows_to_frame

from ..conftest import DATA

MIXED60 = DATA / "asterisk22" / "mixed60.raw"
MIXED60_CDR = DATA / "asterisk22" / "mixed60.cdr.csv"
SAMPLES = sorted((DATA / "ami-samples").glob("*.ami"))
KINDS = sorted((DATA / "asterisk22" / "kinds").glob("*.raw"))


def capture_messages(path: Path) -> list[Message]:
    """Every message of a capture file, in order."""
    return Parser().feed(read_capture(path))


def codec_frame(path: Path) -> pl.DataFrame:
    """The capture as an event frame built directly from the codec."""
    messages = capture_messages(path)
    return rows_to_frame(message_row(m, seq=i) for i, m in enumerate(messages, 1))


@cache
def _frame(path: str) -> pl.DataFrame:
    try:
        from amikit.record import load  # type: ignore[attr-defined]
    except ImportError:
        return codec_frame(Path(path))
    return load(path)


def frame(path: Path) -> pl.DataFrame:
    """The capture as ``amikit.load`` returns it (codec fallback until loaders exist)."""
    return _frame(str(path))


@pytest.fixture(scope="session")
def mixed60() -> pl.DataFrame:
    return frame(MIXED60)
