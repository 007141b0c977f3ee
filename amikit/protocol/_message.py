"""One AMI message: an ordered multi-map of headers over the exact bytes received.

Strategy
--------
A busy PBX sends tens of thousands of messages a second and most consumers read two or
three fields of each (the event name, ``Uniqueid``, ``Linkedid``). So a :class:`Message`
keeps only its raw bytes when it is created and works lazily:

* ``get(key)`` scans the raw bytes for ``key:`` at a line start (exact spelling first, then
  ASCII case-insensitively) and decodes only that value;
* ``items()``, ``getall()``, ``to_dict()`` and friends decode the whole frame once and cache the
  ordered list of ``(key, value)`` pairs.

Both paths apply the same line rules, so they always agree:

Rule 1: a line is ``Key: value``, split on the *first* colon; leading blanks of the value are
        skipped (as Asterisk's own ``__astman_get_header`` does); values may be empty and may
        contain colons.
Rule 2: the legacy ``ChanVariable(<channel>): name=value`` form keeps the channel name in the
        key even when the channel name contains colons (``IAX2/10.0.0.1:4569-3``).
Rule 3: in a CRLF stream only CRLF ends a line; a bare LF (pre-13.5 servers did not escape
        values) stays inside the value.
Rule 4: old-style ``Response: Follows`` Command output (Asterisk <= 13) is raw CLI text ending
        in ``--END COMMAND--``; its lines are exposed as :attr:`Message.output`, like the
        repeated ``Output:`` headers of Asterisk >= 14.
Rule 5: text is decoded as UTF-8 with U+FFFD for invalid bytes; :attr:`Message.raw` keeps the
        exact bytes. A frame is only decoded once complete, so a character split across two
        reads is never corrupted.
Rule 6: the values of ``Secret`` and ``Key`` never appear in ``repr()`` or ``str()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, overload

__all__ = ["SECRET_KEYS", "Message", "mask_value"]

#: Header names (lower case) whose values are secrets: never shown, logged or recorded.
SECRET_KEYS = frozenset({"secret", "key"})

_MASK = "********"

# _kind bits: how the frame was delimited and whether it is an old-style Command reply.
_LF = 1
_FOLLOWS = 2

# Header keys an old-style "Response: Follows" frame carries before its raw CLI text.
_FOLLOWS_HEADER_KEYS = frozenset({"response", "privilege", "actionid", "message"})
_END_COMMAND = "--END COMMAND--"

# key -> (exact needle at frame start, exact needle after LF, lower-case twins)
_NEEDLES: dict[str, tuple[bytes, bytes, bytes, bytes]] = {}


def _needles(key: str) -> tuple[bytes, bytes, bytes, bytes]:
    n = _NEEDLES.get(key)
    if n is None:
        kb = key.encode("utf-8", "replace") + b":"
        low = kb.lower()
        n = (kb, b"\n" + kb, low, b"\n" + low)
        if len(_NEEDLES) < 4096:  # user-supplied keys must not grow this forever
            _NEEDLES[key] = n
    return n


def mask_value(key: str, value: str) -> str:
    """Return ``value``, or a mask if ``key`` names a secret (``Secret``, ``Key``)."""
    return _MASK if key.lower() in SECRET_KEYS and value else value


def _split_header(line: str) -> tuple[str, str] | None:
    """Split one header line by Rules 1 and 2; None for a line that is not a header."""
    key, sep, value = line.partition(":")
    if not sep:
        return None
    if "(" in key and ")" not in key:
        # Rule 2: "ChanVariable(IAX2/10.0.0.1:4569-3): name=value"
        end = line.find("):")
        if end > 0:
            key, value = line[: end + 1], line[end + 2 :]
    return key, value.lstrip(" \t")


class Message:
    """One AMI message (event, response or action) as received.

    Headers form an ordered multi-map with case-insensitive lookup that keeps the original
    spelling. Created by :class:`amikit.protocol.Parser`; build one yourself with
    :meth:`Message.from_pairs`.

    Attributes
    ----------
    raw : bytes
        The exact bytes of the frame, terminating blank line included.
    received_at : datetime or None
        When the client read the frame (UTC, microseconds); ``None`` outside a client.
    seq : int or None
        The client's per-connection sequence number, counting from 1.
    connection : int or None
        The client's connection generation (1 for the first connection, +1 per reconnect).
    """

    __slots__ = ("_items", "_kind", "_stray", "connection", "raw", "received_at", "seq")

    def __init__(self, raw: bytes, _kind: int = 0) -> None:
        self.raw = raw
        self._kind = _kind
        self._items: list[tuple[str, str]] | None = None
        self._stray: list[str] | None = None
        self.received_at: datetime | None = None
        self.seq: int | None = None
        self.connection: int | None = None

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Any]]) -> Message:
        """Build a message from ``(key, value)`` pairs (validated, CRLF-framed).

        >>> Message.from_pairs([("Event", "Hangup"), ("Cause", 16)]).get("cause")
        '16'
        """
        from ._encode import encode_message

        return cls(encode_message(pairs))

    # -- lazy decoding ------------------------------------------------------------------

    def _parse(self) -> list[tuple[str, str]]:
        items = self._items
        if items is not None:
            return items
        text = self.raw.decode("utf-8", "replace")
        eol = "\n" if self._kind & _LF else "\r\n"
        items = []
        stray: list[str] = []
        if self._kind & _FOLLOWS:
            self._parse_follows(text, items, stray)
        else:
            for line in text.split(eol):
                if not line:
                    continue
                pair = _split_header(line)
                if pair is None:
                    stray.append(line)
                else:
                    items.append(pair)
        self._items = items
        self._stray = stray
        return items

    @staticmethod
    def _parse_follows(text: str, items: list[tuple[str, str]], out: list[str]) -> None:
        # Rule 4. Header lines end in CRLF, the CLI text in bare LF; both are split on LF
        # here and a trailing CR is dropped. The terminator may be glued to the last line.
        body = text.rstrip("\r\n")
        if body.endswith(_END_COMMAND):
            body = body[: -len(_END_COMMAND)]
        lines = body.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the LF right before --END COMMAND--
        i = 0
        while i < len(lines):
            pair = _split_header(lines[i].rstrip("\r"))
            if pair is None or pair[0].lower() not in _FOLLOWS_HEADER_KEYS:
                break
            items.append(pair)
            i += 1
        out.extend(line[:-1] if line.endswith("\r") else line for line in lines[i:])

    def _scan(self, key: str) -> str | None:
        """First value of ``key`` read straight from the raw bytes (Rules 1, 3, 5)."""
        raw = self.raw
        first, inner, first_low, inner_low = _needles(key)
        if raw.startswith(first):
            i = len(first)
        else:
            i = raw.find(inner)
            if i >= 0:
                i += len(inner)
            else:
                low = raw.lower()  # ASCII-only lowering keeps every byte offset
                if low.startswith(first_low):
                    i = len(first_low)
                else:
                    i = low.find(inner_low)
                    if i < 0:
                        return None
                    i += len(inner_low)
        j = raw.find(b"\n" if self._kind & _LF else b"\r\n", i)
        value = raw[i:j] if j >= 0 else raw[i:]
        return value.lstrip(b" \t").decode("utf-8", "replace")

    # -- mapping interface --------------------------------------------------------------

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: Any) -> Any: ...

    def get(self, key: str, default: Any = None) -> Any:
        """The first value of ``key`` (case-insensitive), or ``default``."""
        if self._kind & _FOLLOWS:
            low = key.lower()
            for k, v in self._parse():
                if k.lower() == low:
                    return v
            return default
        value = self._scan(key)
        return default if value is None else value

    def getall(self, key: str) -> list[str]:
        """Every value of ``key`` (case-insensitive), in the order received."""
        low = key.lower()
        return [v for k, v in self._parse() if k.lower() == low]

    def items(self) -> list[tuple[str, str]]:
        """All ``(key, value)`` pairs in the order received, repeated keys included."""
        return list(self._parse())

    def keys(self) -> list[str]:
        """All keys in the order received (a repeated key appears each time)."""
        return [k for k, _ in self._parse()]

    def to_dict(self) -> dict[str, str | list[str]]:
        """Headers as a dict keyed by the original spelling.

        A key that occurs once maps to its value; a repeated key maps to the list of its
        values, in order (e.g. several ``ChanVariable`` or ``Output`` headers).
        """
        out: dict[str, Any] = {}
        for k, v in self._parse():
            old = out.get(k)
            if old is None:
                out[k] = v
            elif isinstance(old, list):
                old.append(v)
            else:
                out[k] = [old, v]
        return out

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._parse())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self._parse() == other._parse() and self.output == other.output

    __hash__ = None  # type: ignore[assignment]

    # -- what kind of message -----------------------------------------------------------

    @property
    def name(self) -> str:
        """The ``Event`` value; for a response, the ``Response`` value (``Success``, ...)."""
        value = self.get("Event")
        if value is None:
            value = self.get("Response") or self.get("Action") or ""
        return value

    @property
    def is_event(self) -> bool:
        """True for an event, including hybrids such as ``OriginateResponse``.

        A hybrid carries both ``Event:`` and ``Response:``; it is an event (it is not the
        direct reply to an action) and ``get("Response")`` still gives its outcome.
        """
        return self.get("Event") is not None

    @property
    def is_response(self) -> bool:
        """True for the direct reply to an action (``Response:`` and no ``Event:``)."""
        return self.get("Event") is None and self.get("Response") is not None

    @property
    def is_action(self) -> bool:
        """True for a client request (``Action:``), as a server-side parser sees them."""
        return self.get("Action") is not None and self.get("Event") is None

    @property
    def is_hybrid(self) -> bool:
        """True for an event that also carries ``Response:`` (``OriginateResponse``)."""
        return self.get("Event") is not None and self.get("Response") is not None

    @property
    def action_id(self) -> str | None:
        """The ``ActionID`` (any spelling), or None."""
        return self.get("ActionID")

    @property
    def is_list_start(self) -> bool:
        """True for the response that opens an event list (``EventList: start``/``Start``)."""
        return self.is_response and (self.get("EventList") or "").lower() == "start"

    @property
    def is_list_end(self) -> bool:
        """True for the event that closes an event list.

        ``EventList: Complete`` (or ``cancelled``) marks it since Asterisk 13.2; older
        servers send a ``…Complete`` event with the action's ``ActionID`` and no marker.
        """
        if not self.is_event or self.get("ActionID") is None:
            return False
        marker = (self.get("EventList") or "").lower()
        if marker in ("complete", "cancelled"):
            return True
        return not marker and self.name.endswith("Complete")

    @property
    def output(self) -> list[str]:
        """Command output lines, in either dialect.

        Asterisk <= 13 sends ``Response: Follows`` and raw text up to ``--END COMMAND--``;
        Asterisk >= 14 sends one ``Output:`` header per line. Lines of any other frame
        that are not ``Key: value`` headers are listed here too, so nothing is lost.
        """
        self._parse()
        stray = self._stray or []
        if self._kind & _FOLLOWS:
            return list(stray)
        return self.getall("Output") + stray

    @property
    def server_time(self) -> datetime | None:
        """The server's ``Timestamp:`` (``timestampevents = yes``) as an aware UTC datetime."""
        value = self.get("Timestamp")
        if not value:
            return None
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            return None

    # -- display ------------------------------------------------------------------------

    def __repr__(self) -> str:
        kind = "Event" if self.is_event else "Response" if self.is_response else "Action"
        parts = [f"{kind}={self.name!r}"]
        for key in ("ActionID", "Channel", "Uniqueid"):
            value = self.get(key)
            if value is not None:
                parts.append(f"{key}={value!r}")
        parts.append(f"headers={len(self)}")
        return f"<Message {' '.join(parts)}>"

    def __str__(self) -> str:
        lines = [f"{k}: {mask_value(k, v)}" for k, v in self._parse()]
        lines.extend(self.output if self._kind & _FOLLOWS else (self._stray or []))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        # A plain, dependency-free rendering; amikit.jupyter offers richer views.
        from html import escape

        rows = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th>"
            f"<td style='text-align:left'>{escape(mask_value(k, v))}</td></tr>"
            for k, v in self._parse()
        )
        out = self.output
        pre = f"<pre>{escape(chr(10).join(out))}</pre>" if out and self._kind & _FOLLOWS else ""
        return f"<table class='amikit-message'>{rows}</table>{pre}"


Message.__module__ = "amikit"
