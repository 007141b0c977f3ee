"""Bytes in, messages out: the incremental AMI frame splitter.

Strategy
--------
AMI has no length prefix: a message ends at the first empty line. The parser keeps the bytes
of the frame in progress and, when a chunk completes one or more frames, splits the whole
chunk in C (``bytes.split``) instead of walking it line by line in Python. Whether the chunk
is the common case (every part a well-formed frame) is checked for all parts at once, with
C-level ``min``/``map``; then each part becomes a lazy :class:`~amikit.protocol.Message`
without any per-frame Python code but its ``__init__``. Any other chunk (stray blank lines,
oversized or header-less frames, an old-style Command reply) goes frame by frame.

Invariants
----------
Rule 1: the result does not depend on how the stream is cut into chunks. A partial frame is
        accumulated in a ``bytearray`` and only the newly arrived bytes (plus three bytes of
        overlap) are searched for the terminator, so feeding one byte at a time stays linear.
Rule 2: the first line of the stream, if it has no colon, is the banner
        (``Asterisk Call Manager/11.0.0``). It is NOT followed by an empty line.
Rule 3: the line ending is taken from the first line of the stream: Asterisk writes CRLF;
        bare LF is accepted (clients may send it, and old fixtures were stored that way).
Rule 4: an old-style Command reply, a frame whose first line is exactly ``Response: Follows``
        (as every Asterisk <= 13 writes it), ends at ``--END COMMAND--`` followed by the empty
        line, not at the first empty line (its CLI text may contain them).
Rule 5: no frame, complete or in progress, may exceed ``max_frame_size``. A bigger one is
        dropped (memory stays bounded), reported as :class:`RemoteProtocolError`, and
        parsing resumes at the next frame boundary.
Rule 6: :meth:`Parser.feed` raises nothing but :class:`RemoteProtocolError`, and the error
        carries every message decoded in the same call (``err.messages``): the bytes are
        consumed either way, so nothing already received is lost.
"""

from __future__ import annotations

from itertools import repeat

from .._exceptions import RemoteProtocolError
from ._message import _FOLLOWS, _LF, _NOTERM, Message

__all__ = ["DEFAULT_MAX_FRAME_SIZE", "Parser"]

#: Default limit for one frame (1 MiB). Asterisk's largest real frames are a few KiB.
DEFAULT_MAX_FRAME_SIZE = 1 << 20

_END_COMMAND = b"--END COMMAND--"
# The first line of an old-style Command reply, exactly as every Asterisk <= 13 writes it.
_FOLLOWS_LINE = b"Response: Follows"
# Banner of any AMI-speaking server: "Asterisk Call Manager/11.0.0" and its proxies.
_MAX_BANNER = 256


class Parser:
    """Turn a byte stream from an AMI peer into :class:`~amikit.Message` objects.

    Sans-I/O: no sockets, clocks or threads. Feed it whatever the transport read.

    Parameters
    ----------
    max_frame_size : int
        Largest accepted frame in bytes (default 1 MiB). See Rule 5 above.
    banner : bool
        Whether the stream may start with a banner line (True for a client reading a
        server; a server reading a client passes False).

    Examples
    --------
    >>> p = Parser()
    >>> p.feed(b"Asterisk Call Manager/11.0.0\\r\\nResponse: Success\\r\\nPing: Pong\\r\\n")
    []
    >>> p.ami_version
    '11.0.0'
    >>> [m.get("Ping") for m in p.feed(b"\\r\\n")]
    ['Pong']
    """

    def __init__(self, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, banner: bool = True):
        if max_frame_size < 64:
            raise ValueError("max_frame_size must be at least 64 bytes")
        self.max_frame_size = max_frame_size
        #: The banner line, e.g. ``"Asterisk Call Manager/11.0.0"``; None until seen.
        self.banner: str | None = None
        self._want_banner = banner
        # The frame in progress (Rule 1): its bytes so far, or while skipping an oversized
        # one (Rule 5) only the last few, enough to see a terminator or the end marker of a
        # Command reply cut across two reads.
        self._pending = bytearray()
        self._term = b""  # b"\r\n\r\n" or b"\n\n", fixed by the first line (Rule 3)
        self._kind = 0
        self._skipping = False  # inside an oversized frame, dropping bytes (Rule 5)
        self._dropped = 0
        self._follows: bool | None = None  # the frame is a Command reply (None: not known)
        self._marker = -1  # where its "--END COMMAND--" starts in _pending, once seen
        self._scanned = 0  # _pending[:_scanned] holds no end of the frame (bar the seam)
        #: Counters: frames decoded, frames dropped as invalid, bytes fed.
        self.frames = 0
        self.errors = 0
        self.bytes_fed = 0

    @property
    def ami_version(self) -> str | None:
        """The AMI version from the banner (``"11.0.0"`` for Asterisk 22), or None."""
        if self.banner is None or "/" not in self.banner:
            return None
        return self.banner.rsplit("/", 1)[1].strip() or None

    @property
    def buffered(self) -> int:
        """Bytes held for a frame still in progress."""
        return len(self._pending)

    @property
    def skipping(self) -> bool:
        """True while the bytes of an oversized frame are being dropped (Rule 5)."""
        return self._skipping

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message]:
        """Consume ``data`` and return the messages it completed, in order.

        Raises
        ------
        RemoteProtocolError
            A frame was larger than ``max_frame_size`` or was not a message at all. The
            bad frame is skipped; ``err.messages`` holds every message decoded in this
            call and the parser is ready for the next chunk.
        """
        if type(data) is not bytes:
            data = bytes(data)  # bytearray, memoryview: one copy, then bytes methods
        self.bytes_fed += len(data)
        problems: list[str] = []
        if self._skipping:
            rest = self._skip(data)
            if rest is None:
                return []
            data = rest
        pending = self._pending
        if not self._term:
            # Still on the first line: only the new bytes can hold its end.
            if data.find(b"\n") < 0:
                pending += data
                self._check_pending(problems)
                return self._finish([], problems)
            buf = self._start(bytes(pending) + data)
            self._new_frame()
        elif pending:
            pending += data
            if self._frame_end(pending) < 0:
                self._check_pending(problems)
                return self._finish([], problems)
            buf = bytes(pending)
            self._new_frame()
        else:
            buf = data
        out = self._split(buf, problems)
        return self._finish(out, problems)

    # -- internals ----------------------------------------------------------------------

    def _start(self, buf: bytes) -> bytes:
        """Fix the line ending and take the banner (Rules 2, 3); ``buf`` holds an LF."""
        nl = buf.find(b"\n")
        crlf = nl > 0 and buf[nl - 1] == 13
        self._set_term(crlf)
        if self._want_banner:
            line = buf[: nl - 1 if crlf else nl]
            # A banner longer than a frame may be would be dropped when read in pieces
            # (Rule 5 holds before the line end is seen): so it is not one in one piece.
            if (
                b":" not in line
                and line.strip()
                and len(line) <= min(_MAX_BANNER, self.max_frame_size)
            ):
                self.banner = line.decode("utf-8", "replace").strip()
                buf = buf[nl + 1 :]
        return buf

    def _set_term(self, crlf: bool) -> None:
        self._term = b"\r\n\r\n" if crlf else b"\n\n"
        self._kind = 0 if crlf else _LF

    def _new_frame(self) -> None:
        self._pending.clear()
        self._follows = None
        self._marker = -1
        self._scanned = 0

    def _frame_end(self, buf: bytearray) -> int:
        """Where the frame at the start of ``buf`` ends (its terminator), or -1.

        Each call searches only the bytes after ``_scanned`` (less a seam the length of
        what is searched for), so feeding a frame in small pieces stays linear (Rule 1),
        an old-style Command reply included (Rule 4).
        """
        term = self._term
        n = len(buf)
        if self._follows is None:
            follows_line = _FOLLOWS_LINE + term[: len(term) // 2]
            if n < len(follows_line) and follows_line.startswith(buf):
                return -1  # may still become a Command reply; no terminator in it yet
            self._follows = buf.startswith(follows_line)
        start = self._scanned
        if self._follows and self._marker < 0:
            at = buf.find(_END_COMMAND, max(start - len(_END_COMMAND) + 1, 0))
            if at < 0:
                self._scanned = n
                return -1
            self._marker = start = at
        else:
            start = max(start - len(term) + 1, self._marker, 0)
        end = buf.find(term, start)
        if end < 0:
            self._scanned = n
        return end

    def _split(self, buf: bytes, problems: list[str]) -> list[Message]:
        term = self._term
        parts = buf.split(term)
        rest = parts.pop()
        if not parts:
            self._keep(rest, problems)
            return []
        limit = self.max_frame_size
        if (
            min(parts) >= b"\x0e"  # no part is empty or starts with CR or LF
            and min(map(bytes.find, parts, repeat(b":"))) >= 0  # each has a header
            and (len(buf) <= limit or max(map(len, parts)) <= limit)
            and not any(map(bytes.startswith, parts, repeat(_FOLLOWS_LINE)))
        ):
            # The common case, checked for the whole chunk at once: no stray blank lines
            # between frames, no oversized frame, no frame without a header, no old-style
            # Command reply. Each part is then a frame and the per-frame work runs in C,
            # except Message.__init__. The frames keep no copy of their blank line: Message
            # adds it back when .raw is read (_NOTERM).
            out = list(map(Message, parts, repeat(self._kind | _NOTERM)))
            self.frames += len(out)
            if rest:
                self._keep(rest, problems)
            return out
        return self._split_slow(buf, problems)

    def _split_slow(self, buf: bytes, problems: list[str]) -> list[Message]:
        """Frame by frame: stray blank lines, bad frames, old-style Command replies (Rule 4)."""
        term = self._term
        tlen = len(term)
        kind = self._kind | _NOTERM
        follows_line = _FOLLOWS_LINE + term[: tlen // 2]
        limit = self.max_frame_size
        out: list[Message] = []
        pos = 0
        n = len(buf)
        while pos < n:
            while pos < n and buf[pos] in (10, 13):
                pos += 1
            end = buf.find(term, pos)
            if end < 0:
                break
            frame_kind = kind
            if buf.startswith(follows_line, pos):
                marker = buf.find(_END_COMMAND, pos)
                if marker < 0:
                    break
                end = buf.find(term, marker)
                if end < 0:
                    break
                frame_kind |= _FOLLOWS
            frame = buf[pos:end]
            pos = end + tlen
            if len(frame) > limit:
                self._reject(problems)
            elif b":" not in frame:
                self._reject_garbage(frame, problems)
            else:
                out.append(Message(frame, frame_kind))
        self.frames += len(out)
        self._keep(buf[pos:], problems)
        return out

    def _keep(self, rest: bytes, problems: list[str]) -> None:
        """Hold the start of the next frame; blank lines before it are dropped now, as they
        would be once it completes, so ``buffered`` does not depend on the chunking."""
        if rest[:1] in (b"\r", b"\n"):
            rest = rest.lstrip(b"\r\n")
        self._new_frame()
        if rest:
            self._pending += rest
            self._check_pending(problems)

    def _frame_floor(self) -> int:
        """The least size of the frame in progress: the bytes held, less any that may yet
        turn out to be the start of its terminator (so the limit does not depend on where
        the reads are cut)."""
        pending = self._pending
        n = len(pending)
        term = self._term or b"\r\n"  # on the first line, a CR may still end the line
        for cut in range(min(len(term) - 1, n), 0, -1):
            if pending.endswith(term[:cut]):
                return n - cut
        return n

    def _check_pending(self, problems: list[str]) -> None:
        if self._frame_floor() <= self.max_frame_size:
            return
        self._reject(problems)
        self._skipping = True
        self._dropped = 0
        if self._term:
            self._frame_end(self._pending)  # no end in it: notes how far the search got
        else:
            self._follows = False  # a first line this long is neither banner nor reply
            self._scanned = len(self._pending)
        self._trim_seam()

    def _skip(self, data: bytes) -> bytes | None:
        """Drop bytes up to and including the end of the oversized frame; return what
        follows, or None (then only a seam is kept in ``_pending``)."""
        pending = self._pending
        pending += data
        if not self._term:
            nl = pending.find(b"\n", self._scanned)
            if nl < 0:
                self._scanned = len(pending)
                self._trim_seam()
                return None
            self._set_term(nl > 0 and pending[nl - 1] == 13)
            self._scanned = max(nl - 1, 0)
        end = self._frame_end(pending)
        if end < 0:
            self._trim_seam()
            return None
        end += len(self._term)
        rest = bytes(pending[end:])
        self._dropped += end
        self._skipping = False
        self._new_frame()
        return rest

    def _trim_seam(self) -> None:
        """While skipping, hold only the last bytes, where what ends the frame may start:
        the CR of the first line end, a terminator, or a Command reply's end marker."""
        if not self._term:
            keep = 1
        elif self._follows and self._marker < 0:
            keep = len(_END_COMMAND) - 1
        else:
            keep = len(self._term) - 1
        pending = self._pending
        cut = len(pending) - keep
        if cut > 0:
            self._dropped += cut
            del pending[:cut]
            self._scanned = max(self._scanned - cut, 0)
            if self._marker >= 0:
                self._marker = 0  # it was seen; the search for the terminator goes on

    def _reject(self, problems: list[str]) -> None:
        self.errors += 1
        problems.append(
            f"frame exceeds max_frame_size ({self.max_frame_size} bytes), dropped up to "
            f"the next frame boundary"
        )

    def _reject_garbage(self, frame: bytes, problems: list[str]) -> None:
        self.errors += 1
        problems.append(f"dropped {len(frame)} bytes that hold no 'Key: value' header")

    def _finish(self, out: list[Message], problems: list[str]) -> list[Message]:
        if problems:
            raise RemoteProtocolError("; ".join(problems), messages=out)
        return out
