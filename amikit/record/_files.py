"""Small, dependency-free helpers for capture files."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "make_private_dir",
    "make_private_file",
    "open_private",
    "read_capture",
    "strip_fixture_header",
]

# Recordings hold caller numbers and names: created for their owner only (0700 / 0600),
# further narrowed by the umask; ``private=False`` asks for the usual 0777 / 0666 less umask.
_DIR_MODE = {True: 0o700, False: 0o777}
_FILE_MODE = {True: 0o600, False: 0o666}


def make_private_dir(path: Path, private: bool = True) -> None:
    """``mkdir -p`` whose new directories are the owner's only (when ``private``)."""
    missing = []
    at = path
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=_DIR_MODE[private])
        except FileExistsError:
            pass  # another writer made it meanwhile
    if not path.is_dir():
        path.mkdir()  # raises the error that explains it (a file in the way, ...)


def make_private_file(path: Path, private: bool = True) -> None:
    """Narrow a file just created by a library that used the default mode: 0600 less
    what the umask already removed (when ``private``)."""
    if private:
        os.chmod(path, os.stat(path).st_mode & _FILE_MODE[True])


def open_private(path: Path, private: bool = True) -> int:
    """A file descriptor for appending to ``path``, created 0600 (less umask) if new."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE[private])


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
