"""Build a large raw AMI capture for the conversion benchmark (not committed).

The real captures in tests/data are concatenated over and over; in each copy every
``...Uniqueid``/``...Linkedid`` value is re-numbered (the epoch part is shifted by a copy
number) so the calls of different copies stay distinct. Only one banner is kept.

Usage: python benchmarks/make_big_capture.py [OUT] [--mb 120]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from amikit.record._files import read_capture

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
_ID = re.compile(rb"((?:Uniqueid|Linkedid): )(\d+)\.(\d+)")


def sources() -> list[bytes]:
    paths = [DATA / "asterisk22" / "mixed60.raw"]
    paths += sorted((DATA / "asterisk22" / "kinds").glob("*.raw"))
    paths += sorted((DATA / "ami-samples").glob("*.ami"))
    out = []
    for path in paths:
        data = read_capture(path)
        if data.startswith(b"Asterisk Call Manager"):
            data = data.split(b"\r\n", 1)[1]
        out.append(data)
    return out


def build(target_bytes: int) -> bytes:
    parts = [b"Asterisk Call Manager/11.0.0\r\n"]
    size = len(parts[0])
    blobs = sources()
    copy = 0
    while size < target_bytes:
        shift = copy * 100_000

        def renumber(m: re.Match[bytes], shift: int = shift) -> bytes:
            return m.group(1) + str(int(m.group(2)) + shift).encode() + b"." + m.group(3)

        for blob in blobs:
            chunk = _ID.sub(renumber, blob)
            parts.append(chunk)
            size += len(chunk)
        copy += 1
    return b"".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=str(ROOT / "benchmarks" / "big_capture.raw"))
    ap.add_argument("--mb", type=float, default=120)
    args = ap.parse_args()
    data = build(int(args.mb * 1_000_000))
    Path(args.out).write_bytes(data)
    print(f"wrote {args.out}: {len(data) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
