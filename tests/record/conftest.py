"""Helpers for the recording tests: the codec's view of a capture, as rows."""

from __future__ import annotations

import polars as pl

from amikit.protocol import Message, Parser, RemoteProtocolError
from amikit.record._schema import message_row, rows_to_frame

META = ["received_at", "server", "session", "connection", "seq"]


def codec_messages(data: bytes) -> list[Message]:
    """What the codec makes of a whole buffer fed at once (bad frames skipped)."""
    try:
        return Parser().feed(data)
    except RemoteProtocolError as exc:
        return exc.messages


def codec_rows(messages: list[Message]) -> pl.DataFrame:
    return rows_to_frame([message_row(m) for m in messages])


def assert_same_rows(got: pl.DataFrame, want: pl.DataFrame, *, meta: bool = False) -> None:
    """Row-for-row equality; metadata columns compared only when ``meta``."""
    if not meta:
        got, want = got.drop(META), want.drop(META)
    assert got.columns == want.columns
    assert got.height == want.height, (got.height, want.height)
    if not got.equals(want):
        for name in got.columns:
            if not got[name].equals(want[name]):
                bad = (got[name] != want[name]) | (got[name].is_null() != want[name].is_null())
                i = bad.arg_true()[0] if bad.any() else None
                raise AssertionError(
                    f"column {name!r} differs first at row {i}: "
                    f"{got[name][i] if i is not None else '?'!r} != "
                    f"{want[name][i] if i is not None else '?'!r}"
                )
        raise AssertionError("frames differ")
