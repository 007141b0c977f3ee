"""Small polars helpers shared by the analysis functions.

Every public analysis function accepts a DataFrame or a LazyFrame in the layout of
``amikit.record._schema`` and returns the same kind. Work is done on a LazyFrame and
collected only at the end (or where a Python step on a small set is needed, e.g. the
union-find over channel links).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import polars as pl

from .._exceptions import UsageError
from ..record._schema import WIDE_COLUMNS

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

POS = "_pos"
TIME = "_time"
_WIDE = frozenset(WIDE_COLUMNS)


def lazy(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The frame as a LazyFrame (raises a clear error for anything else)."""
    if isinstance(frame, pl.LazyFrame):
        return frame
    if isinstance(frame, pl.DataFrame):
        return frame.lazy()
    msg = f"expected a polars DataFrame or LazyFrame of AMI events, got {type(frame).__name__}"
    raise UsageError(msg)


def like(
    result: pl.LazyFrame, original: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame | pl.LazyFrame:
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


def col_or_null(lf_columns: Iterable[str], name: str) -> pl.Expr:
    """``pl.col(name)`` if the frame has it, else a null string column of that name."""
    if name in set(lf_columns):
        return pl.col(name)
    return pl.lit(None, dtype=pl.String).alias(name)


def time_expr(columns: Iterable[str]) -> pl.Expr:
    """Event time: the server ``Timestamp`` when present, else the arrival time."""
    cols = set(columns)
    parts = [pl.col(c) for c in ("timestamp", "received_at") if c in cols]
    if not parts:
        return pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias(TIME)
    return pl.coalesce(parts).alias(TIME)


def extra_value(key: str) -> pl.Expr:
    """The first value of ``key`` (case-insensitive) in the ``extra`` list column."""
    wanted = key.lower()
    return (
        pl.col("extra")
        .list.eval(
            pl.element()
            .filter(pl.element().struct.field("key").str.to_lowercase() == wanted)
            .struct.field("value")
        )
        .list.first()
    )


def field(columns: Iterable[str], name: str) -> pl.Expr:
    """A header by name: its wide column, or (case-insensitively) its ``extra`` entry."""
    cols = set(columns)
    parts = []
    if name in cols:
        parts.append(pl.col(name))
    if "extra" in cols:
        parts.append(extra_value(name))
    if not parts:
        return pl.lit(None, dtype=pl.String).alias(name)
    return (pl.coalesce(parts) if len(parts) > 1 else parts[0]).alias(name)
