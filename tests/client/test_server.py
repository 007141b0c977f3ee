"""The test AMI server itself: the manager.conf rules a client can observe, fault controls."""

from __future__ import annotations

import socket
import time

import pytest

from amikit import AMIClient, AmiTimeout, UsageError
from amikit.protocol import Parser, encode_action
from amikit.sim import AMIServer, User
from amikit.sim._builtin_actions import logoff

from .conftest import Recorder, user_event, wait_until


def _raw_session(port: int, *actions: bytes, expect: int) -> list:
    """Talk to the server with a bare socket; return the first ``expect`` messages."""
    parser = Parser()
    out: list = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"".join(actions))
        while len(out) < expect:
            data = sock.recv(65536)
            if not data:
                break
            out.extend(parser.feed(data))
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    return out


def test_only_login_challenge_logoff_before_authentication(server: AMIServer) -> None:
    msgs = _raw_session(
        server.port,
        encode_action("Ping", action_id="1"),
        encode_action("Frobnicate", action_id="2"),
        b"Foo: bar\r\n\r\n",
        encode_action("Logoff", action_id="3"),
        expect=4,
    )
    assert [(m.action_id, m["Response"], m.get("Message")) for m in msgs] == [
        ("1", "Error", "Permission denied"),
        ("2", "Error", "Permission denied"),
        (None, "Error", "Missing action in request"),
        ("3", "Goodbye", "Thanks for all the fish."),
    ]


def test_events_respect_read_classes() -> None:
    users = [User("admin", "amikit"), User("callsonly", "pw", read="call", write="")]
    with AMIServer(users) as srv:
        got = Recorder()
        with AMIClient("127.0.0.1", srv.port, "callsonly", "pw") as c:
            c.on("*", got)
            srv.broadcast(user_event("NotForYou"))  # Privilege: user,all
            srv.broadcast([("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "A")])
            assert got.wait_count(1)
            assert c.ping()  # a round trip: anything else would have arrived by now
            assert [m.name for m in got.items] == ["Newchannel"]


def test_match_criteria_include_filter(server: AMIServer, client: AMIClient) -> None:
    got = Recorder()
    client.on("*", got)
    client.add_filter(
        "PJSIP/", match_criteria="name(Newchannel),header(Channel),method(starts_with)"
    )
    server.broadcast([("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "SIP/1")])
    server.broadcast([("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", "PJSIP/1")])
    server.broadcast([("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "PJSIP/2")])
    assert got.wait_count(1)
    client.ping()
    assert [(m.name, m["Channel"]) for m in got.items] == [("Newchannel", "PJSIP/2")]


def test_event_mask_is_reapplied_after_reconnect(server: AMIServer) -> None:
    states = Recorder()
    got = Recorder()
    c = AMIClient("127.0.0.1", server.port, "admin", "amikit", backoff=(0.02, 0.1))
    c.on_connection(states)
    c.on("*", got)
    c.connect()
    try:
        c.set_event_mask("call")
        server.drop_connections()
        assert states.wait_for(lambda items: any(e.kind == "reconnected" for e in items))
        server.broadcast(user_event("Masked"))
        server.broadcast([("Event", "Newchannel"), ("Privilege", "call,all")])
        assert got.wait_for(lambda items: any(m.name == "Newchannel" for m in items))
        assert not [m for m in got.items if m.name == "UserEvent"]
        assert not [m for m in got.items if m.name == "FullyBooted" and m.connection == 2]
    finally:
        c.close()


def test_close_logs_off(server: AMIServer) -> None:
    seen = []

    def spy_logoff(session, msg):
        seen.append(msg.action_id)
        return logoff(session, msg)

    server.register_action("Logoff", spy_logoff)
    with AMIClient("127.0.0.1", server.port, "admin", "amikit"):
        assert len(server.sessions) == 1
    assert len(seen) == 1
    assert wait_until(lambda: not server.sessions)


def test_slow_down_delays_every_frame(server: AMIServer, client: AMIClient) -> None:
    server.slow_down(0.2)
    start = time.monotonic()
    client.ping()
    slowed = time.monotonic() - start
    server.slow_down(0)
    assert slowed >= 0.2
    with pytest.raises(AmiTimeout):  # a client deadline shorter than the server's pace
        server.slow_down(0.5)
        client.ping(timeout=0.1)
    server.slow_down(0)


def test_handler_errors_become_error_responses(server: AMIServer, client: AMIClient) -> None:
    def broken(session, msg):
        raise ValueError("no such queue")

    server.register_action("QueueStatus", broken)
    resp = client.action("QueueStatus", raise_on_error=False)
    assert resp["Response"] == "Error" and resp["Message"] == "no such queue"


def test_server_listens_on_loopback_only() -> None:
    with pytest.raises(UsageError):
        AMIServer(host="0.0.0.0")


def test_core_status_and_settings(server: AMIServer, client: AMIClient) -> None:
    server.channels = [[("Channel", "PJSIP/1-1")]]
    status = client.action("CoreStatus")
    assert status["CoreCurrentCalls"] == "1" and status["CoreStartupDate"].count("-") == 2
    settings = client.action("CoreSettings")
    assert settings["AMIversion"] == "11.0.0" and settings["AsteriskVersion"] == "22.0.0"
