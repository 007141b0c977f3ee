"""The one table layout for AMI messages: what Parquet recordings hold and loaders return.

Every message is one row. Layout:

* metadata columns (snake_case): ``received_at`` (UTC, µs; when the client read it, null
  for a capture with no timing), ``server`` ("host:port", a name the user gave, or a file
  name), ``session`` (one recording run: one ``Recorder``, one ``convert`` of one source;
  null where unknown, as in a raw capture read directly), ``connection``
  (generation: 1, then +1 per reconnect), ``seq`` (per-connection sequence number from 1),
  ``kind`` (``event``, ``response``, ``action`` or ``gap``), ``event`` (the event name; for a
  response its ``Response`` value), ``timestamp`` (the server's ``Timestamp:`` as UTC µs;
  its exact text also stays in ``extra``), ``action_id``;
* wide string columns, named exactly as Asterisk spells the header (``Channel``,
  ``Uniqueid``, ``Linkedid``, ``DestChannel``, ``BridgeUniqueid``, ``Cause-txt``, ...): the
  first occurrence of a header with exactly that spelling;
* ``extra``: every other header, in order, repeated ones included, as a list of
  ``{key, value}`` structs. A header is either in a wide column or in ``extra``, never both
  and never lost, so ``message_pairs(row)`` gives back the message's headers (wide ones
  first).

A gap row (``kind == "gap"``, ``event == "Gap"``) marks a lost connection: ``received_at``
is when the loss was noticed and ``extra`` holds ``GapStart``, ``GapEnd`` (ISO 8601) and
``Reason``.

This module is pure Python; the polars schema is built on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._timestamp import parse_server_time
from ..protocol.fields import BRIDGE_SNAPSHOT, CHANNEL_ROLES, CHANNEL_SNAPSHOT

if TYPE_CHECKING:
    import polars as pl

    from ..protocol import Message

__all__ = [
    "GAP_EVENT",
    "META_COLUMNS",
    "RUN_COLUMNS",
    "WIDE_COLUMNS",
    "gap_row",
    "message_pairs",
    "message_row",
    "new_session_id",
    "polars_schema",
    "rows_to_frame",
    "run_schema",
]

META_COLUMNS: tuple[str, ...] = (
    "received_at",
    "server",
    "session",
    "connection",
    "seq",
    "kind",
    "event",
    "timestamp",
    "action_id",
)

_SNAPSHOT = CHANNEL_SNAPSHOT
_DEST = tuple("Dest" + name for name in _SNAPSHOT if name not in ("Language", "AccountCode"))
# Other channel roles: enough to link channels into calls without touching `extra`.
_ROLES = tuple(role for role in CHANNEL_ROLES if role not in ("", "Dest"))
_ROLE_IDS = tuple(role + field for role in _ROLES for field in ("Channel", "Uniqueid", "Linkedid"))

WIDE_COLUMNS: tuple[str, ...] = (
    "Privilege",
    "Response",
    "Message",
    *_SNAPSHOT,
    *_DEST,
    *_ROLE_IDS,
    *BRIDGE_SNAPSHOT[:-1],  # all but BridgeVideoSourceMode
    "DialString",
    "DialStatus",
    "Cause",
    "Cause-txt",
    "Variable",
    "Value",
    "Application",
    "AppData",
    "Queue",
    "Interface",
    "MemberName",
    "Digit",
    "Direction",
    "Result",
    "UserEvent",
)

GAP_EVENT = "Gap"

# Headers that feed metadata columns rather than wide ones.
_WIDE = frozenset(WIDE_COLUMNS)


def new_session_id() -> str:
    """A fresh recording-session id: ``<UTC stamp>-<pid>-<random>``, sortable by start."""
    import os
    import secrets
    from datetime import timezone

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{stamp}-{os.getpid()}-{secrets.token_hex(3)}"


def polars_schema() -> dict[str, pl.DataType]:
    """The column names and polars dtypes of a recording, in order."""
    import polars as pl

    utc = pl.Datetime("us", "UTC")
    schema: dict[str, Any] = {
        "received_at": utc,
        "server": pl.String(),
        "session": pl.String(),
        "connection": pl.Int32(),
        "seq": pl.Int64(),
        "kind": pl.String(),
        "event": pl.String(),
        "timestamp": utc,
        "action_id": pl.String(),
    }
    for name in WIDE_COLUMNS:
        schema[name] = pl.String()
    schema["extra"] = pl.List(pl.Struct({"key": pl.String(), "value": pl.String()}))
    return schema


#: Optional columns of a collapsed recording (``Recorder(..., transform=amikit.collapse)``):
#: the length of each run of repeats and the times of its first and last event, as
#: :func:`amikit.analysis.collapse` computes them.
RUN_COLUMNS: tuple[str, ...] = ("count", "first", "last")


def run_schema() -> dict[str, pl.DataType]:
    """The dtypes of :data:`RUN_COLUMNS`."""
    import polars as pl

    utc = pl.Datetime("us", "UTC")
    return {"count": pl.Int64(), "first": utc, "last": utc}


def _kind(msg: Message) -> str:
    if msg.get("Event") is not None:
        return "event"
    if msg.get("Response") is not None:
        return "response"
    return "action"


def message_row(
    msg: Message,
    *,
    server: str | None = None,
    connection: int | None = None,
    seq: int | None = None,
) -> dict[str, Any]:
    """One message as a row dict following the layout above (wide columns may be absent)."""
    row: dict[str, Any] = {
        "received_at": msg.received_at,
        "server": server,
        "session": None,
        "connection": connection if connection is not None else msg.connection,
        "seq": seq if seq is not None else msg.seq,
        "kind": _kind(msg),
        "event": msg.name,
        "timestamp": None,
        "action_id": None,
    }
    extra: list[dict[str, str]] = []
    for key, value in msg.items():
        if key == "Event" and row.get("_event_seen") is None:
            row["_event_seen"] = True  # the name is in `event`
            continue
        if key == "ActionID" and row["action_id"] is None:
            row["action_id"] = value
            continue
        if key == "Timestamp" and row["timestamp"] is None:
            # Parsed into `timestamp`; the exact text stays in `extra` (a float round trip
            # could change the last digit).
            row["timestamp"] = parse_server_time(value)
        if key in _WIDE and key not in row:
            row[key] = value
        else:
            extra.append({"key": key, "value": value})
    row.pop("_event_seen", None)
    # Stray non-header lines (old Command output) are kept as keyless entries.
    for line in msg.output if msg.get("Response") == "Follows" else []:
        extra.append({"key": "", "value": line})
    row["extra"] = extra
    return row


def gap_row(
    *,
    received_at: datetime | None,
    server: str | None,
    connection: int | None,
    gap_start: datetime | None,
    gap_end: datetime | None,
    reason: str | None,
) -> dict[str, Any]:
    """The row that marks a lost connection (``kind == "gap"``, see the module doc)."""

    def iso(when: datetime | None) -> str:
        return when.isoformat() if when is not None else ""

    return {
        "received_at": received_at,
        "server": server,
        "session": None,
        "connection": connection,
        "seq": None,
        "kind": "gap",
        "event": GAP_EVENT,
        "timestamp": None,
        "action_id": None,
        "extra": [
            {"key": "GapStart", "value": iso(gap_start)},
            {"key": "GapEnd", "value": iso(gap_end)},
            {"key": "Reason", "value": reason or ""},
        ],
    }


def rows_to_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Build a frame with the full schema from row dicts (missing columns become null)."""
    import polars as pl

    schema = polars_schema()
    columns: dict[str, list[Any]] = {name: [] for name in schema}
    for row in rows:
        for name, values in columns.items():
            values.append(row.get(name))
    return pl.DataFrame(columns, schema=schema)


def message_pairs(row: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The ``(key, value)`` headers of one row: Event first, then wide, then ``extra``.

    Order between different keys is not kept (wide columns come first); the order of
    repeated keys is.
    """
    extra = row.get("extra") or ()
    if row.get("kind") == "event" and not any(i["key"].lower() == "event" for i in extra):
        yield ("Event", row["event"])
    if row.get("action_id") is not None:
        yield ("ActionID", row["action_id"])
    for name in WIDE_COLUMNS:
        value = row.get(name)
        if value is not None:
            yield (name, value)
    for item in extra:
        if item["key"]:
            yield (item["key"], item["value"])
