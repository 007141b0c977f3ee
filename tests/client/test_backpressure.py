"""Back-pressure: a slow subscriber never stalls reading; lossless ones pause it instead."""

from __future__ import annotations

import threading

from amikit import AMIClient
from amikit.sim import AMIServer

from .conftest import Recorder, user_event, wait_until

N = 3000


def _flood(server: AMIServer, n: int = N, start: int = 0) -> None:
    data = b"".join(
        b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: Flood\r\nN: %d\r\n\r\n" % i
        for i in range(start, start + n)
    )
    server.send_raw(data)  # to every session; logged-in clients treat it as events


def test_slow_subscriber_drops_oldest_and_does_not_stall_reading(
    server: AMIServer, client: AMIClient
) -> None:
    release = threading.Event()
    slow_seen: list[int] = []
    first_taken = threading.Event()
    drained = threading.Event()
    marker_seen = threading.Event()

    def slow(msg) -> None:
        slow_seen.append(int(msg.get("N", -1)))
        if slow_seen[-1] == -1:
            marker_seen.set()
        if len(slow_seen) == 1 + 100:  # the one it was stuck on, then the queue's 100
            drained.set()
        if len(slow_seen) == 1:
            first_taken.set()
            release.wait(30)  # a consumer stuck for a long time

    fast_done = threading.Event()
    fast_count = [0]

    def fast(msg) -> None:
        fast_count[0] += 1
        if fast_count[0] == N:
            fast_done.set()

    slow_sub = client.on("UserEvent", slow, thread="caller", lossless=False, maxsize=100)
    client.on("UserEvent", fast, thread="loop")
    # One event first, so the slow consumer is known to hold it before the flood: the
    # expected drop count then does not depend on thread scheduling.
    _flood(server, 1)
    assert first_taken.wait(5)
    _flood(server, N - 1, start=1)
    assert fast_done.wait(10), "the reader stalled behind the slow subscriber"
    assert slow_sub.dropped == N - 1 - 100
    assert client.stats.dropped == N - 1 - 100
    assert client.stats.received >= N
    release.set()
    # the marker only once the queue is empty: sent earlier, it would find the queue
    # still full and (rightly) push out the oldest event the assertion below expects
    assert drained.wait(5)
    server.broadcast(user_event("Marker"))  # no N: the slow callback records -1
    assert marker_seen.wait(5)
    # the slow one got the message it was stuck on, then the newest 100 (drop-oldest)
    assert slow_seen[0] < N - 100
    assert slow_seen[1:] == [*range(N - 100, N), -1]


def test_lossless_subscriber_gets_everything(server: AMIServer, client: AMIClient) -> None:
    release = threading.Event()
    got: list[int] = []
    complete = threading.Event()

    def careful(msg) -> None:
        if not got:
            release.wait(30)
        got.append(int(msg["N"]))
        if len(got) == N:
            complete.set()

    fast = Recorder()
    sub = client.on("UserEvent", careful, thread="caller", lossless=True, maxsize=50)
    client.on("UserEvent", fast, thread="loop")
    _flood(server)
    # reading pauses once the lossless queue is full: back-pressure instead of loss
    assert fast.wait_for(lambda items: client._engine._blocked, 10)
    assert client._engine.conn.paused
    assert len(fast.items) < N
    release.set()
    assert complete.wait(20)
    assert got == list(range(N))
    assert sub.dropped == 0 and client.stats.dropped == 0
    assert fast.wait_count(N)
    assert wait_until(lambda: not client._engine.conn.paused)


def test_a_caller_thread_callback_loses_nothing_in_a_flood_by_default(
    server: AMIServer, client: AMIClient
) -> None:
    # A plain script: no loop in this thread, so the callback runs on a worker thread. It is
    # held on the first event until the whole flood has been read: a lossy default queue
    # (10,000) would then have dropped the oldest 20,000.
    n = 30_000
    got: list[int] = []
    complete = threading.Event()
    first_taken = threading.Event()

    def callback(msg) -> None:
        if not got:
            first_taken.set()
            assert wait_until(lambda: sub.queued >= n - 1 or sub.dropped, 30)
        got.append(int(msg["N"]))
        if len(got) == n:
            complete.set()

    sub = client.on("UserEvent", callback, thread="caller")  # the default queue
    assert sub.lossless and sub.maxsize >= 1_000_000
    _flood(server, 1)
    assert first_taken.wait(5)
    _flood(server, n - 1, start=1)
    assert complete.wait(60)
    assert got == list(range(n))
    assert sub.dropped == 0 and client.stats.dropped == 0
