"""Liveness and recovery: half-open detection, reconnect, restart mid-stream, gaps."""

from __future__ import annotations

import threading
import time

import pytest

from amikit import AMIClient, ConnectionLost
from amikit.sim import AMIServer

from .conftest import Recorder, user_event

PING_INTERVAL = 0.2
PING_TIMEOUT = 0.4
BACKOFF = (0.05, 0.2)


def _client(server: AMIServer, **kw) -> AMIClient:
    return AMIClient(
        "127.0.0.1",
        server.port,
        "admin",
        "amikit",
        ping_interval=PING_INTERVAL,
        ping_timeout=PING_TIMEOUT,
        backoff=BACKOFF,
        timeout=5,
        **kw,
    )


def test_half_open_connection_is_detected_and_recovered(server: AMIServer) -> None:
    states = Recorder()
    c = _client(server)
    c.on_connection(states)
    c.connect()
    try:
        silent_at = time.monotonic()
        server.go_silent(True)  # no bytes, no FIN: only the ping deadline can tell
        assert states.wait_for(lambda items: any(e.kind == "disconnected" for e in items))
        detected = time.monotonic() - silent_at
        assert detected <= PING_INTERVAL + PING_TIMEOUT + 0.5
        lost = next(e for e in states.items if e.kind == "disconnected")
        assert "Ping" in lost.reason and lost.gap_start is not None
        server.go_silent(False)
        assert states.wait_for(lambda items: any(e.kind == "reconnected" for e in items))
        back = next(e for e in states.items if e.kind == "reconnected")
        assert back.generation == 2 and c.generation == 2
        assert back.gap_start == lost.gap_start and back.gap_end >= back.gap_start
        assert c.ping()["Ping"] == "Pong"
        assert c.stats.reconnects == 1
    finally:
        c.close()
    assert [e.kind for e in states.items] == ["connected", "disconnected", "reconnected", "closed"]


def test_pending_actions_fail_with_connection_lost(server: AMIServer) -> None:
    arrived = threading.Event()

    async def hang(session, msg):
        arrived.set()
        import asyncio

        await asyncio.sleep(3600)

    server.register_action("Hang", hang)
    c = _client(server, reconnect=False)
    c.connect()
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            c.action("Hang", timeout=30)
        except BaseException as exc:
            outcome.append(exc)

    t = threading.Thread(target=call)
    t.start()
    assert arrived.wait(5)
    server.drop_connections()
    t.join(5)
    assert not t.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionLost)
    with pytest.raises(ConnectionLost):
        c.action("Ping")
    c.close()


def test_server_restart_mid_stream(server: AMIServer) -> None:
    states = Recorder()
    got = Recorder()
    c = _client(server)
    c.on_connection(states)
    c.on("UserEvent", got, thread="caller")
    c.connect()
    c.add_filter("!UserEvent: Hidden")  # must be re-applied after the reconnect
    try:
        for i in range(5):
            server.broadcast(user_event("Before", N=str(i)))
        assert got.wait_count(5)
        server.restart()
        assert states.wait_for(lambda items: any(e.kind == "reconnected" for e in items))
        for i in range(5):
            server.broadcast(user_event("Hidden", N=str(i)))
            server.broadcast(user_event("After", N=str(i)))
        assert got.wait_count(10)
        names = [m["UserEvent"] for m in got.items]
        assert names == ["Before"] * 5 + ["After"] * 5
        assert [m.connection for m in got.items] == [1] * 5 + [2] * 5
        assert [m.seq for m in got.items[5:]] == sorted(m.seq for m in got.items[5:])
        back = next(e for e in states.items if e.kind == "reconnected")
        assert back.gap_start <= back.gap_end
        assert got.items[4].received_at <= back.gap_start
        assert got.items[5].received_at >= back.gap_end
    finally:
        c.close()


def test_messages_are_stamped(server: AMIServer) -> None:
    got = Recorder()
    with _client(server) as c:
        c.on("*", got)
        server.broadcast(user_event("A", Timestamp="1700000000.123456"))
        server.broadcast(user_event("B"))
        assert got.wait_for(lambda items: len([m for m in items if m.name == "UserEvent"]) >= 2)
    user = [m for m in got.items if m.name == "UserEvent"]
    assert all(m.received_at.tzinfo is not None and m.connection == 1 for m in user)
    seqs = [m.seq for m in got.items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and min(seqs) >= 1
    assert user[0].server_time.timestamp() == pytest.approx(1700000000.123456)


def test_garbage_from_the_server_is_counted_not_fatal(server: AMIServer) -> None:
    got = Recorder()
    with _client(server) as c:
        c.on("UserEvent", got)
        server.send_raw(b"this is not AMI at all\r\n\r\n")
        server.broadcast(user_event("AfterGarbage"))
        assert got.wait_count(1)
        assert c.stats.protocol_errors == 1
        assert c.ping()["Ping"] == "Pong"
