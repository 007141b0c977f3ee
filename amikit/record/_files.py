"""Small, dependency-free helpers for capture files."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_capture", "strip_fixture_header"]


def strip_fixture_header(data: bytes) -> bytes:
    """Drop a leading ``# ``-comment header (ended by the first empty line), if present.

    amikit's test captures and ``shared/`` fixtures carry their source and licence in
    such a header; the AMI bytes follow it.
    """
    if not data.startswith(b"# "):
        return data
    pos = 0
    while data.startswith(b"#", pos):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return b""
        pos = nl + 1
    # the empty line that ends the header
    if data.startswith(b"\r\n", pos):
        return data[pos + 2 :]
    if data.startswith(b"\n", pos):
        return data[pos + 1 :]
    return data[pos:]


def read_capture(path: str | Path) -> bytes:
    """The AMI bytes of a capture file, without its fixture header."""
    return strip_fixture_header(Path(path).read_bytes())
