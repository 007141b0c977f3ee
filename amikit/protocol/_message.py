"""One AMI message: an ordered multi-map of headers over the exact bytes received.

Strategy
--------
A busy PBX sends tens of thousands of messages a second and most consumers read two or
three fields of each (the event name, ``Uniqueid``, ``Linkedid``). So a :class:`Message`
keeps only its raw bytes when it is created and works lazily:

* ``get(key)`` finds ``key:`` at a line start in the bytes (one ``find`` over an ASCII-lowered
  copy, which keeps every byte offset) and decodes only that value;
* ``items()``, ``getall()`` and friends decode the whole frame once and cache the ordered list
  of ``(key, value)`` pairs; ``to_dict()`` goes straight to a dict when no key repeats.

Both paths apply the same line rules, so they always agree: ``get(k)`` is
``(getall(k) or [default])[0]`` for every frame, including the odd ones (two spellings of one
key, a bare LF before a ``Key:``-looking text). Keys match ASCII-case-insensitively.

The calls made for every message (construction, ``raw``, ``name``, ``get``, ``to_dict``)
live in a *core* class that :class:`Message` derives from: ``_speedups.MessageCore`` in C when
it was built (``pip install`` compiles it where a C compiler exists), else the pure-Python
twin :class:`_MessageCore` below (also chosen by ``AMIKIT_PURE_PYTHON=1``). Profiles of the
pure-Python core showed CPython call overhead, not the byte work, as the cost: about twenty C
calls per message for three lookups. The C core scans the lines once, case-insensitively,
without a lowered copy. ``tests/protocol/test_speedups.py`` holds the twins to the same
results on every real capture and on generated frames; ``IMPLEMENTATION`` says which runs.

Rule 1: a line is ``Key: value``, split on the *first* colon; leading blanks of the value are
        skipped (as Asterisk's own ``__astman_get_header`` does); values may be empty and may
        contain colons.
Rule 2: the legacy ``ChanVariable(<channel>): name=value`` form keeps the channel name in the
        key even when the channel name contains colons (``IAX2/10.0.0.1:4569-3``).
Rule 3: in a CRLF stream only CRLF ends a line; a bare LF (pre-13.5 servers did not escape
        values) stays inside the value.
Rule 4: old-style ``Response: Follows`` Command output (Asterisk <= 13) is raw CLI text ending
        in ``--END COMMAND--`` (the parser recognises the frame by its exact first line); its
        lines are exposed as :attr:`Message.output`, like the repeated ``Output:`` headers of
        Asterisk >= 14.
Rule 5: text is decoded as UTF-8 with U+FFFD for invalid bytes; :attr:`Message.raw` keeps the
        exact bytes. A frame is only decoded once complete, so a character split across two
        reads is never corrupted.
Rule 6: the values of ``Secret`` and ``Key`` never appear in ``repr()`` or ``str()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import repeat
from typing import TYPE_CHECKING, Any, cast, overload

from .._accel import accelerator
from .._timestamp import parse_server_time

__all__ = ["SECRET_KEYS", "Message", "mask_value"]

#: Header names (lower case) whose values are secrets: never shown, logged or recorded.
SECRET_KEYS = frozenset({"secret", "key"})

_MASK = "********"

# _k bits (Message._k): how the frame was delimited and whether it is an old-style Command reply.
_LF = 1
_FOLLOWS = 2
_NOTERM = 4  # the stored frame lacks the blank line that ended it; .raw adds it back

# Header keys an old-style "Response: Follows" frame carries before its raw CLI text.
_FOLLOWS_HEADER_KEYS = frozenset({"response", "privilege", "actionid", "message"})
_END_COMMAND = "--END COMMAND--"

# ASCII-only case folding: AMI keys are ASCII, and folding only A-Z keeps the byte scan of
# get() and the decoded lookups of getall() in exact agreement (str.lower() would also fold,
# e.g., the Kelvin sign U+212A to "k", which a byte scan cannot see).
_ASCII_FOLD = {c: c + 32 for c in range(65, 91)}


def _fold(key: str) -> str:
    return key.lower() if key.isascii() else key.translate(_ASCII_FOLD)


# key -> (exact needle at frame start, offset of the value after it,
#         lower-case needle after CRLF, lower-case needle after LF), or None for a key that the
#         byte scan cannot look up exactly (non-ASCII, CR/LF, colon or parenthesis in it).
_Needles = tuple[bytes, int, bytes, bytes]
_NEEDLES: dict[str, _Needles | None] = {}


def _needles(key: str) -> _Needles | None:
    try:
        return _NEEDLES[key]
    except KeyError:
        pass
    n: _Needles | None = None
    if key.isascii() and not any(c in key for c in ":()\r\n"):
        kb = key.encode("ascii") + b":"
        low = kb.lower()
        n = (kb, len(kb), b"\r\n" + low, b"\n" + low)
    if len(_NEEDLES) < 4096:  # user-supplied keys must not grow this forever
        _NEEDLES[key] = n
    return n


# (frame, (EOL + frame).lower()) of the message most recently searched case-insensitively.
_LAST_LOWERED: tuple[bytes, bytes] = (b"", b"")


def _text(data: bytes) -> str:
    """UTF-8 with U+FFFD for invalid bytes (Rule 5); the strict decoder is the fast one."""
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace")


def _line_value(frame: bytes, i: int, eol: bytes) -> str:
    """The value that starts at ``frame[i]``: up to the line end, leading blanks skipped."""
    j = frame.find(eol, i)
    value = (frame[i:j] if j >= 0 else frame[i:]).lstrip(b" \t")
    try:
        return value.decode()  # the strict decoder is the fast one
    except UnicodeDecodeError:
        return value.decode("utf-8", "replace")


def _kind_of(raw: bytes) -> int:
    """How a whole frame given by a caller is delimited (the parser knows it already)."""
    nl = raw.find(b"\n")
    kind = _LF if nl == 0 or (nl > 0 and raw[nl - 1] != 13) else 0
    if raw.startswith(b"Response: Follows\n" if kind else b"Response: Follows\r\n"):
        kind |= _FOLLOWS
    return kind


def mask_value(key: str, value: str) -> str:
    """Return ``value``, or a mask if ``key`` names a secret (``Secret``, ``Key``)."""
    return _MASK if key.lower() in SECRET_KEYS and value else value


_partition = str.partition
_split = str.split
# Endless iterators of arguments: map() stops at the end of its first iterable.
_COLONS = repeat(":")
_SEPARATORS = repeat(": ")
_ONES = repeat(1)


def _fast_dict(lines: list[str], text: str) -> dict[str, str] | None:
    """The headers as a dict, built in C, when that is exactly what Rules 1-3 give; else None.

    Each line is split at its first ``": "``. That is the first colon and the value needs no
    stripping when no key holds a colon and no value starts with a blank (``":  "``,
    ``": \t"``); ``dict()`` refuses a line without the separator; the lengths match only
    when no key repeats. A ``(`` in a key may be the legacy form (Rule 2): general path.
    """
    try:
        fast = dict(map(_split, lines, _SEPARATORS, _ONES))
    except ValueError:  # a line without ": "
        return None
    if len(fast) != len(lines) or ":  " in text or ": \t" in text:
        return None
    keys = "".join(fast)
    if ":" in keys or "(" in keys:
        return None
    return fast


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


class _MessageCore:
    """The hot part of :class:`Message` in pure Python: frame bytes, slots, ``raw``,
    ``name``, ``get()`` and ``to_dict()``.

    :mod:`amikit.protocol._speedups` (C, optional) has a twin, ``MessageCore``, with the
    same behaviour; :class:`Message` derives from whichever is in use. Cases the core does
    not handle itself go to methods of :class:`Message` (``_get_parsed``,
    ``_to_dict_general``), in both twins alike.
    """

    __slots__ = ("_frame", "_items", "_k", "_stray", "connection", "received_at", "seq")

    def __init__(self, raw: bytes, _kind: int = -1) -> None:
        # A parser makes tens of thousands of these a second: set only what must be set.
        # The parser passes the kind it framed; from anyone else, ``raw`` is one whole frame
        # (e.g. from a recording) and its kind is read from it.
        if not isinstance(raw, bytes):
            raw = bytes(memoryview(raw))  # bytearray, memoryview (not an int): as in C
        self._frame = raw
        self._k = _kind if _kind >= 0 else _kind_of(raw)
        self._items: list[tuple[str, str]] | None = None
        self._stray: list[str] | None = None
        self.received_at: datetime | None = None
        self.seq: int | None = None
        self.connection: int | None = None

    @property
    def raw(self) -> bytes:
        """The exact bytes of the frame, terminating blank line included."""
        kind = self._k
        if kind & _NOTERM:
            return self._frame + (b"\n\n" if kind & _LF else b"\r\n\r\n")
        return self._frame

    # -- the hot lookups ---------------------------------------------------------------

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: Any) -> Any: ...

    def get(self, key: str, default: Any = None) -> Any:
        """The first value of ``key`` (case-insensitive), or ``default``.

        Reads the value straight from :attr:`raw` without decoding the other headers, by
        the same rules as :meth:`items` (so ``get(k) == (getall(k) or [None])[0]``).
        """
        try:
            n = _NEEDLES[key]
        except (KeyError, TypeError):
            n = _needles(key) if isinstance(key, str) else None
        if n is None or self._k & (_LF | _FOLLOWS):
            return self._get_other(key, n, default)
        # A CRLF frame, the hot path. Search a lowered copy: ASCII-only lowering keeps every
        # byte offset, and an exact-spelling hit may follow another spelling's, so the exact
        # bytes cannot be searched first. The copy starts with CRLF so that one find() also
        # covers the first line. Only the last message's copy is kept (readers typically
        # ask one message for a few fields in a row), not one per message.
        frame = self._frame
        global _LAST_LOWERED
        last = _LAST_LOWERED
        if last[0] is frame:
            i = last[1].find(n[2])
        elif frame.startswith(n[0]):  # the first line: certainly the first occurrence
            i = 0
        else:
            low = (b"\r\n" + frame).lower()
            _LAST_LOWERED = (frame, low)
            i = low.find(n[2])
        if i < 0:
            return default
        # the CRLF in the needle and the one prefixed to the copy cancel out
        return _line_value(frame, i + n[1], b"\r\n")

    def _get_other(self, key: str, n: _Needles | None, default: Any) -> Any:
        """get() for an LF frame (same search, LF line ends) or by the decoded headers."""
        if n is None or self._k & _FOLLOWS:
            return self._get_parsed(key, default)
        frame = self._frame
        i = 0 if frame.startswith(n[0]) else (b"\n" + frame).lower().find(n[3])
        if i < 0:
            return default
        # as in get(): the LF in the needle and the prefixed one cancel out
        return _line_value(frame, i + n[1], b"\n")

    @property
    def name(self) -> str:
        """The ``Event`` value; for a response, the ``Response`` value (``Success``, ...)."""
        frame = self._frame
        if not self._k & (_LF | _FOLLOWS) and frame.startswith(b"Event:"):
            return _line_value(frame, 6, b"\r\n")  # the usual case: no lookup needed
        value = self.get("Event")
        if value is None:
            value = self.get("Response") or self.get("Action") or ""
        return value

    def to_dict(self) -> dict[str, str | list[str]]:
        """Headers as a dict keyed by the original spelling.

        A key that occurs once maps to its value; a repeated key maps to the list of its
        values, in order (e.g. several ``ChanVariable`` or ``Output`` headers). Keys are
        not folded: ``UniqueID`` and ``Uniqueid`` stay two keys, as received.
        """
        items = self._items
        if items is None and not self._k & _FOLLOWS:
            # Straight to a dict when every line is a header, no key repeats and no key
            # has the legacy "Name(chan):" form; else the general path below.
            text = _text(self._frame)
            fast = _fast_dict(text.split("\n" if self._k & _LF else "\r\n"), text)
            if fast is not None:
                # A fresh dict the caller owns: no list value in it, so the wider type holds.
                return cast("dict[str, str | list[str]]", fast)
        return self._to_dict_general()

    # Provided by Message (both cores call them).
    def _get_parsed(self, key: str, default: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _to_dict_general(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError


def _core() -> type:
    """The C core when it is built and not switched off (``AMIKIT_PURE_PYTHON=1``)."""
    speedups = accelerator("amikit.protocol._speedups")
    return _MessageCore if speedups is None else speedups.MessageCore


#: Which implementation of the hot lookups is in use: "C" or "Python".
if TYPE_CHECKING:
    # The C twin has no stubs; it behaves as the Python core, so check against that.
    _Core = _MessageCore
else:
    _Core = _core()
IMPLEMENTATION = "C" if _Core is not _MessageCore else "Python"


class Message(_Core):
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

    __slots__ = ()

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Any]]) -> Message:
        """Build a message from ``(key, value)`` pairs (validated, CRLF-framed).

        >>> Message.from_pairs([("Event", "Hangup"), ("Cause", 16)]).get("cause")
        '16'
        """
        from ._encode import encode_message

        return cls(encode_message(pairs))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle/copy: the same frame and stamps, whichever core is in use.
        return (
            _restore,
            (type(self), self._frame, self._k, self.received_at, self.seq, self.connection),
        )

    @property
    def _kind(self) -> int:
        # How the frame was delimited, as a caller may pass it back to the constructor
        # together with ``raw`` (which always ends with its blank line).
        return self._k & ~_NOTERM

    # -- lazy decoding ------------------------------------------------------------------

    def _parse(self) -> list[tuple[str, str]]:
        parsed = self._items
        if parsed is not None:
            return parsed
        text = _text(self._frame)
        items: list[tuple[str, str]] = []
        stray: list[str] = []
        if self._k & _FOLLOWS:
            self._parse_follows(text, items, stray)
        else:
            lines = text.split("\n" if self._k & _LF else "\r\n")
            # Fast path (Rule 1): every line a header, no legacy "Name(chan):" key.
            items = [(k, v.lstrip(" \t")) for k, s, v in map(_partition, lines, _COLONS) if s]
            if len(items) != len(lines) or "(" in text:
                items = []
                for line in lines:
                    key, sep, value = line.partition(":")
                    if not sep:
                        if line:
                            stray.append(line)
                    elif "(" in key:
                        items.append(_split_header(line))  # type: ignore[arg-type]
                    else:
                        items.append((key, value.lstrip(" \t")))
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
            if pair is None or _fold(pair[0]) not in _FOLLOWS_HEADER_KEYS:
                break
            items.append(pair)
            i += 1
        out.extend(line[:-1] if line.endswith("\r") else line for line in lines[i:])

    # -- mapping interface --------------------------------------------------------------

    def _get_parsed(self, key: str, default: Any) -> Any:
        if not isinstance(key, str):
            return default
        fold = _fold(key)
        for k, v in self._parse():
            if k == key or _fold(k) == fold:
                return v
        return default

    def getall(self, key: str) -> list[str]:
        """Every value of ``key`` (case-insensitive), in the order received."""
        fold = _fold(key)
        return [v for k, v in self._parse() if k == key or _fold(k) == fold]

    def items(self) -> list[tuple[str, str]]:
        """All ``(key, value)`` pairs in the order received, repeated keys included."""
        return list(self._parse())

    def keys(self) -> list[str]:
        """All keys in the order received (a repeated key appears each time)."""
        return [k for k, _ in self._parse()]

    def values(self) -> list[str]:
        """All values in the order received."""
        return [v for _, v in self._parse()]

    def _to_dict_general(self) -> dict[str, Any]:
        # to_dict() for any frame: by the decoded headers, repeated keys as lists.
        items = self._parse()
        out: dict[str, Any] = dict(items)
        if len(out) == len(items):  # no repeated key: the common case
            return out
        out.clear()
        for k, v in items:
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
        if self._k & _FOLLOWS:
            return list(stray)
        return self.getall("Output") + stray

    @property
    def server_time(self) -> datetime | None:
        """The server's ``Timestamp:`` (``timestampevents = yes``) as an aware UTC datetime."""
        return parse_server_time(self.get("Timestamp"))

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
        lines.extend(self.output if self._k & _FOLLOWS else (self._stray or []))
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
        pre = f"<pre>{escape(chr(10).join(out))}</pre>" if out and self._k & _FOLLOWS else ""
        return f"<table class='amikit-message'>{rows}</table>{pre}"


Message.__module__ = "amikit"


def _restore(
    cls: type[Message],
    frame: bytes,
    k: int,
    received_at: datetime | None,
    seq: int | None,
    connection: int | None,
) -> Message:
    msg = cls(frame, k)
    msg.received_at, msg.seq, msg.connection = received_at, seq, connection
    return msg
