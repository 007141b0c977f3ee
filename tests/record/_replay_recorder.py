"""Child process for the kill -9 test: replay a real capture into a RecordingSink forever.

Prints ``put N`` (flushed) after every batch so the parent knows a lower bound of what was
handed to the recorder. Paced at about RATE messages per second.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

from amikit.protocol import Parser
from amikit.record._files import read_capture
from amikit.record._recorder import RecordingSink

RATE = 2500
BATCH = 200


def main() -> None:
    capture, out, flush_events, flush_seconds = sys.argv[1:5]
    messages = Parser().feed(read_capture(capture))
    sink = RecordingSink(
        out, server="replay:0", flush_events=int(flush_events), flush_seconds=float(flush_seconds)
    )
    sink.start()
    seq = 0
    start = time.monotonic()
    while True:
        for msg in messages:
            seq += 1
            copy = type(msg)(msg.raw)
            copy.seq, copy.connection = seq, 1
            copy.received_at = datetime.now(timezone.utc)
            sink.put(copy)
            if seq % BATCH == 0:
                print(f"put {seq} parquet {sink.parquet_written}", flush=True)
                ahead = seq / RATE - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)  # pacing the producer, not synchronisation


if __name__ == "__main__":
    main()
