"""Where the client runs: a plain script, asyncio.run, and nothing left behind on close."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from amikit import AMIClient
from amikit.client._portal import get_portal
from amikit.sim import AMIServer

from .conftest import Recorder, portal_tasks, user_event

ROOT = Path(__file__).resolve().parents[2]


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_nothing_leaks_after_close(server: AMIServer) -> None:
    get_portal()
    before = _threads()
    c = AMIClient("127.0.0.1", server.port, "admin", "amikit", ping_interval=0.05)
    c.connect()
    got = Recorder()
    c.on("UserEvent", got, thread="caller")  # a worker thread (no loop in this thread)
    c.on("*", lambda m: None)
    stream = c.events("UserEvent", timeout=5)
    c.on_connection(lambda e: None)
    server.broadcast(user_event("X"))
    assert got.wait_count(1)
    assert next(stream)["UserEvent"] == "X"
    assert len(_threads() - before) == 1  # the subscription's worker
    assert portal_tasks()  # the pinger runs
    c.close()
    assert portal_tasks() == []
    assert _threads() == before
    assert "amikit-loop" in before
    assert list(stream) == []  # the stream ended with the client
    assert c.stats.delivered == 3 and c.closed


def test_inside_asyncio_run(server: AMIServer) -> None:
    async def main() -> tuple[list[str], set[int], str, list[str]]:
        loop_thread = threading.get_ident()
        threads_seen: set[int] = set()
        names: list[str] = []
        done = asyncio.Event()

        def callback(msg) -> None:
            threads_seen.add(threading.get_ident())
            names.append(msg["UserEvent"])
            if len(names) == 3:
                done.set()  # safe: we are on this loop

        async with AMIClient("127.0.0.1", server.port, "admin", "amikit") as c:
            c.on("UserEvent", callback, thread="caller")
            version = await c.acommand("core show version")
            streamed: list[str] = []
            async with c.aevents("UserEvent", timeout=5) as stream:
                for i in range(3):
                    server.broadcast(user_event(f"E{i}"))
                async for msg in stream:
                    streamed.append(msg["UserEvent"])
                    if len(streamed) == 3:
                        break
            await asyncio.wait_for(done.wait(), 5)
            # a sync call from a coroutine works too (it blocks this loop, not amikit's)
            assert c.ping()["Ping"] == "Pong"
        assert threads_seen == {loop_thread}
        return names, threads_seen, version, streamed

    names, _, version, streamed = asyncio.run(main())
    assert names == streamed == ["E0", "E1", "E2"]
    assert version.startswith("Asterisk")
    assert portal_tasks() == []


def test_plain_script(server: AMIServer, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from amikit import AMIClient

            client = AMIClient("127.0.0.1", {server.port}, "admin", "amikit")
            client.connect()
            print(client.command("core show version"))
            stream = client.events("UserEvent", timeout=5)
            client.action("UserEvent", UserEvent="FromScript")
            for event in stream:
                print("got", event["UserEvent"])
                break
            # no close(): the process must still exit promptly (daemon loop thread)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "Asterisk 22.0.0" in proc.stdout
    assert "got FromScript" in proc.stdout
    assert "Traceback" not in proc.stderr and "destroyed" not in proc.stderr


def test_import_is_light() -> None:
    code = (
        "import sys, amikit.client, amikit.sim; "
        "bad = [m for m in ('polars', 'IPython', 'ipywidgets', 'pyarrow') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.strip() == "[]", out.stderr
