"""Reading a capture or recording into an event frame for the analysis commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


def add_server_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        metavar="NAME",
        help="only the events of this PBX (a recording of several holds a server each)",
    )


def only_server(events: pl.DataFrame, server: str | None) -> pl.DataFrame:
    """The events of one server; a clear error naming the servers there are if absent."""
    import polars as pl

    from .._exceptions import UsageError

    if server is None:
        return events
    kept = events.filter(pl.col("server") == server)
    if kept.height == 0 and events.height:
        have = ", ".join(sorted(events["server"].drop_nulls().unique().to_list()))
        raise UsageError(f"no events of server {server!r} (the recording holds: {have})")
    return kept


def load_events(path: str) -> pl.DataFrame:
    """Events of ``path``: through ``amikit.load`` when available, else the codec.

    The codec path reads raw AMI captures (``.raw``, ``.ami``, text logs): every message
    becomes a row of the recording layout. A framing error is reported on stderr and
    the messages decoded before it are kept.
    """
    try:
        from ..record import load  # type: ignore[attr-defined]
    except ImportError:
        load = None
    if load is not None:
        return load(path)  # type: ignore[no-any-return]
    from ..protocol import Parser, RemoteProtocolError
    from ..record._files import read_capture
    from ..record._schema import message_row, rows_to_frame

    data = read_capture(Path(path))
    try:
        messages = Parser().feed(data)
    except RemoteProtocolError as exc:
        messages = exc.messages
        print(f"amikit: warning: {path}: {exc}", file=sys.stderr)
    name = Path(path).name
    return rows_to_frame(message_row(m, server=name, seq=i) for i, m in enumerate(messages, 1))


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    minutes, seconds = divmod(value, 60)
    if minutes:
        return f"{int(minutes)}:{seconds:04.1f}"
    return f"{seconds:.1f}s"


def fmt_time(value: object) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[attr-defined]


def table(headers: list[str], rows: list[list[str]], right: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """A plain aligned text table (no colours: safe in pipes and logs)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        out = []
        for h, w, cell in zip(headers, widths, cells, strict=True):
            out.append(cell.rjust(w) if h in right else cell.ljust(w))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])
