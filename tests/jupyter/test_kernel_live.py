"""In a real kernel: the widget's updates reach the front end while a cell blocks.

A jupyter_client harness plays the front end: it runs a cell that blocks for 2 s and
records, from the kernel's iopub channel, every widget ``update`` sent during that cell.
The updates are rendered on amikit's render thread from events read on the client's thread,
so they must arrive spread over the blocking period, not in one burst after it.
"""

from __future__ import annotations

import queue
from datetime import timedelta
from pathlib import Path
from typing import Any

import jupyter_client
import pytest

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

SETUP = f"""
import sys, threading, time
sys.path.insert(0, {str(ROOT)!r})
from amikit import AMIClient
from amikit.sim import AMIServer
from amikit.jupyter import EventStream

server = AMIServer().start()
client = AMIClient("127.0.0.1", server.port, "admin", "amikit").connect()
stream = EventStream(client, pattern="UserEvent")
stop = threading.Event()

def feed():  # a PBX sending an event every 20 ms
    i = 0
    while not stop.wait(0.02):
        i += 1
        server.broadcast([("Event", "UserEvent"), ("Privilege", "user,all"),
                          ("UserEvent", "Tick"), ("N", str(i))])

threading.Thread(target=feed, daemon=True).start()
stream
"""

BLOCK = "time.sleep(2.0)"
TEARDOWN = "stop.set(); stream.close(); client.close(); server.stop()"


def run(kc: Any, code: str, timeout: float = 30.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Execute ``code``; return its reply and every iopub message seen until it went idle."""
    msg_id = kc.execute(code)
    seen: list[dict[str, Any]] = []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=timeout)
        except queue.Empty as exc:
            raise AssertionError(f"no idle status for {code!r}") from exc
        seen.append(msg)
        if (
            msg["msg_type"] == "status"
            and msg["parent_header"].get("msg_id") == msg_id
            and msg["content"]["execution_state"] == "idle"
        ):
            break
    # the shell channel may hold other replies first (ipykernel 7 answers a widget's
    # comm requests there): take the one that answers this execute request
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply, seen


def test_updates_flow_while_a_cell_blocks(kernel_env: dict[str, str]) -> None:
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", env=kernel_env)
    try:
        run(kc, SETUP)
        reply, seen = run(kc, BLOCK)
        parent = reply["parent_header"]["msg_id"]
        states = {
            m["content"]["execution_state"]: m["header"]["date"]
            for m in seen
            if m["msg_type"] == "status" and m["parent_header"].get("msg_id") == parent
        }
        started, finished = states["busy"], states["idle"]
        assert finished - started >= timedelta(seconds=1.9)
        updates = [
            m["header"]["date"]
            for m in seen
            if m["msg_type"] == "comm_msg"
            and m["content"]["data"].get("method") == "update"
            and "value" in m["content"]["data"].get("state", {})
        ]
        during = [d for d in updates if started < d < finished - timedelta(seconds=0.3)]
        # ~4 renders/s over 2 s: several, spread out, while the cell is still blocking
        assert len(during) >= 4, (len(updates), updates)
        assert max(during) - min(during) >= timedelta(seconds=0.8)
        # throttled: at most 4 renders/s (+ leading edge), 2 widget values per render
        assert len(updates) <= 2 * (4 * 2.5 + 2)
        run(kc, TEARDOWN)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
