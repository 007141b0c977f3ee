"""Reading a capture or recording into an event frame for the analysis commands."""

from __future__ import annotations

import argparse
import stat
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

_NOT_FILES = {
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


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


def check_input(path: str | Path) -> str:
    """What ``path`` is, judged once for every command that reads a recording.

    Returns the loader's kind (``"text"``, ``"parquet"``, ``"dataset"``, ``"text-dir"``).
    FIFOs and devices are refused from their ``stat`` alone, before anything opens them
    (reading one could block for ever or never end).

    Raises
    ------
    RecordingFormatError
        Missing, not a file or folder, or not an AMI recording; one line that says which.
    """
    from ..record import RecordingFormatError, recording_format

    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        raise RecordingFormatError(f"{path}: no such file or directory") from None
    except OSError as exc:
        raise RecordingFormatError(f"{path}: cannot read it ({exc.strerror})") from None
    for test, what in _NOT_FILES.items():
        if test(mode):
            raise RecordingFormatError(
                f"{path} is {what}, not a file: amikit reads capture files and recording folders"
            )
    return recording_format(path)


def no_messages(path: str | Path) -> Exception:
    """The error for an input that holds no AMI message at all (the same for every command)."""
    from ..record import RecordingFormatError

    return RecordingFormatError(
        f"{path}: holds no AMI messages (empty; a recording that never connected?)"
    )


def load_events(path: str | Path) -> pl.DataFrame:
    """Events of ``path`` (a capture, text log or recording) through ``amikit.load``.

    Judged first by :func:`check_input`; an input with no message is an error, and the
    loader's warnings (a torn part, a truncated tail) become one ``amikit: warning:`` line
    each on stderr instead of Python's warning format.
    """
    import polars as pl

    from ..record import load

    check_input(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = load(path)
    for warning in caught:
        print(f"amikit: warning: {warning.message}", file=sys.stderr)
    if frame.filter(pl.col("kind") != "gap").height == 0:
        raise no_messages(path)
    return frame


def calls_footer(summary: pl.DataFrame) -> str:
    """``N calls, A answered`` and, apart, the calls the recording did not see whole.

    ``answered`` counts every call whose answer was seen, finished or not; a call still up
    when the recording stopped, or already up when it started, is counted as such, and
    no outcome is guessed for it.
    """
    if summary.height == 0:
        return "0 calls, 0 answered"
    line = f"{summary.height} calls, {int(summary['answered'].sum())} answered"
    unfinished = int(summary["in_progress"].sum())
    late = int(summary["joined_late"].sum())
    if unfinished or late:
        line += f"; {unfinished} in progress, {late} joined late"
    return line


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
