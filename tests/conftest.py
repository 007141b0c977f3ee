"""Shared test fixtures: paths to the real captures shipped in tests/data."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SAMPLES = sorted((DATA / "ami-samples").glob("*.ami"))
ASTERISK22 = [
    DATA / "asterisk22" / "mixed60.raw",
    *sorted((DATA / "asterisk22" / "kinds").glob("*.raw")),
]
TRANSCRIPTS = sorted((DATA / "ami-samples" / "protocol").glob("*.txt"))
CAPTURES = SAMPLES + ASTERISK22


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
