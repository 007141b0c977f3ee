"""The client in a real Jupyter kernel (nbclient): events flow between and during cells."""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]

CELLS = [
    f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import asyncio, threading, time
from amikit import AMIClient
from amikit.sim import AMIServer

server = AMIServer().start()
client = AMIClient("127.0.0.1", server.port, "admin", "amikit")
client.connect()
kernel_loop = asyncio.get_running_loop()
kernel_thread = threading.get_ident()
counted, threads = [], set()
done = {{10: kernel_loop.create_future(), 20: kernel_loop.create_future()}}

def count(msg):  # thread="caller": runs on the kernel's loop
    counted.append(msg["N"])
    threads.add(threading.get_ident())
    if len(counted) in done:
        done[len(counted)].set_result(True)

sub = client.on("UserEvent", count, thread="caller")
on_loop, loop_all = [], threading.Event()

def fast(msg):  # thread="loop": runs on amikit's thread, even while a cell blocks
    on_loop.append(msg)
    if len(on_loop) == 20:
        loop_all.set()

client.on("UserEvent", fast, thread="loop")

def burst(first, last):
    for i in range(first, last):
        server.broadcast([("Event", "UserEvent"), ("Privilege", "user,all"),
                          ("UserEvent", "Tick"), ("N", str(i))])
""",
    "burst(0, 10)",
    # between cells: the kernel loop is free, the callbacks run
    "await asyncio.wait_for(asyncio.shield(done[10]), 10)\nprint('between', len(counted))",
    # a cell that blocks: amikit keeps reading; caller callbacks wait for the kernel loop
    """
before = len(counted)
burst(10, 20)
assert loop_all.wait(10), "amikit stopped receiving while the cell blocked"
time.sleep(0.3)
print('blocked', before, len(on_loop), client.stats.received >= 20)
""",
    """
await asyncio.wait_for(asyncio.shield(done[20]), 10)
print('after', len(counted), counted == [str(i) for i in range(20)], threads == {kernel_thread})
""",
    "client.close(); server.stop(); print('closed', client.stats.dropped)",
]


@pytest.mark.kernel
@pytest.mark.slow
def test_subscription_keeps_receiving_in_a_real_kernel() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3")
    client.execute()
    outputs = [
        "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        for cell in nb.cells
    ]
    assert outputs[2].strip() == "between 10"
    assert outputs[3].strip() == "blocked 10 20 True"
    assert outputs[4].strip() == "after 20 True True"
    assert outputs[5].strip() == "closed 0"
