"""Small polars helpers shared by the analysis functions.

Every public analysis function accepts a DataFrame or a LazyFrame in the layout of
``amikit.record`` and returns the same kind. Work is done on a LazyFrame and
collected only at the end (or where a Python step on a small set is needed, e.g. the
union-find over channel links).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import polars as pl

from .._exceptions import UsageError

POS = "_pos"
TIME = "_time"

#: A DataFrame or a LazyFrame: an analysis function returns the kind it was given.
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def lazy(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The frame as a LazyFrame (raises a clear error for anything else)."""
    if isinstance(frame, pl.LazyFrame):
        return frame
    if isinstance(frame, pl.DataFrame):
        return frame.lazy()
    msg = f"expected a polars DataFrame or LazyFrame of AMI events, got {type(frame).__name__}"
    raise UsageError(msg)


def like(result: pl.LazyFrame, original: FrameT) -> FrameT:
    """Collect ``result`` if the caller passed a DataFrame."""
    return result.collect() if isinstance(original, pl.DataFrame) else result


def columns_of(lf: pl.LazyFrame) -> list[str]:
    return lf.collect_schema().names()


def require(lf: pl.LazyFrame, names: Iterable[str]) -> None:
    have = set(columns_of(lf))
    missing = [n for n in names if n not in have]
    if missing:
        msg = (
            f"the frame lacks column(s) {', '.join(missing)}; pass events as "
            "amikit.load()/amikit.scan() return them"
        )
        raise UsageError(msg)


def time_expr(columns: Iterable[str]) -> pl.Expr:
    """Event time: the server ``Timestamp`` when present, else the arrival time."""
    cols = set(columns)
    parts = [pl.col(c) for c in ("timestamp", "received_at") if c in cols]
    if not parts:
        return pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias(TIME)
    return pl.coalesce(parts).alias(TIME)
