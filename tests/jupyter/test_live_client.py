"""The widgets on a real client: AMIClient + the test AMI server on 127.0.0.1, no mocks."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

from amikit import AMIClient
from amikit.jupyter import EventStream
from amikit.sim import AMIServer


@pytest.fixture
def server() -> Iterator[AMIServer]:
    with AMIServer() as srv:
        yield srv


@pytest.fixture
def client(server: AMIServer) -> Iterator[AMIClient]:
    with AMIClient("127.0.0.1", server.port, "admin", "amikit", timeout=5.0) as c:
        yield c


def user_event(i: int) -> list[tuple[str, str]]:
    return [("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", f"Tick{i}")]


def wait_rendered(stream: EventStream, text: str, timeout: float = 10.0) -> None:
    """Wait (on the render thread's signal) until the status line shows ``text``."""
    deadline = time.monotonic() + timeout
    while text not in stream._status.value:
        assert time.monotonic() < deadline, stream._status.value
        stream._throttle.rendered.wait(0.5)
        stream._throttle.rendered.clear()


def test_event_stream_of_a_client_follows_live_events_rendered_off_the_callers_thread(
    server: AMIServer, client: AMIClient
) -> None:
    stream = EventStream(client, pattern="UserEvent", rows=5)
    assert isinstance(stream, EventStream)
    for i in range(300):
        server.broadcast(user_event(i))
    # This thread only waits: the client's thread feeds, the render thread draws.
    wait_rendered(stream, "data-n='300'")
    assert [m["UserEvent"] for m in stream.messages()][-3:] == ["Tick297", "Tick298", "Tick299"]
    assert "Tick299" in stream._table.value
    assert stream.events_per_second > 0
    stream.close()
    server.broadcast(user_event(300))
    client.ping()  # a round trip after the event: it has been dispatched by now
    assert stream.received == 300  # the subscription is gone


def test_widget_pattern_and_filter_apply_to_the_client_subscription(
    server: AMIServer, client: AMIClient
) -> None:
    stream = EventStream(client, pattern="UserEvent", filter="tick1")
    for i in range(30):
        server.broadcast(user_event(i))
    server.broadcast([("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "X")])
    wait_rendered(stream, "data-n='30'")
    assert {m["UserEvent"] for m in stream.messages()} == {f"Tick{i}" for i in range(10, 20)} | {
        "Tick1"
    }
    stream.close()


def test_importing_the_client_does_not_load_the_jupyter_layer() -> None:
    import subprocess

    code = (
        "import sys, amikit; from amikit import AMIClient; "
        "print([m for m in ('ipywidgets', 'IPython', 'amikit.jupyter') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
