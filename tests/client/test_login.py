"""Login: MD5 and plain, wrong credentials, permissions, TLS, and no retry storm."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from amikit import AMIClient, AmiTimeout, AuthenticationError, ConnectError
from amikit.sim import AMIServer, User
from amikit.sim._builtin_actions import login

from .conftest import USERS, Recorder


@pytest.mark.parametrize("auth", ["md5", "plain"])
def test_login_ok(server: AMIServer, auth: str) -> None:
    with AMIClient("127.0.0.1", server.port, "admin", "amikit", auth=auth) as c:
        assert c.connected and c.generation == 1
        assert c.ping()["Ping"] == "Pong"
    assert server.login_attempts == 1


def test_md5_login_never_sends_the_secret(server: AMIServer) -> None:
    seen: list[bytes] = []

    def spy_login(session, msg):  # a server-side action handler, not a mock of client code
        seen.append(msg.raw)
        return login(session, msg)

    server.register_action("Login", spy_login)
    with AMIClient("127.0.0.1", server.port, "admin", "amikit", auth="md5"):
        pass
    assert len(seen) == 1
    assert b"AuthType: MD5" in seen[0] and b"Key: " in seen[0]
    assert b"amikit\r\n" not in seen[0] and b"Secret" not in seen[0]


@pytest.mark.parametrize("auth", ["md5", "plain"])
@pytest.mark.parametrize("username", ["admin", "nobody"])
def test_wrong_credentials_raise_with_server_message(
    server: AMIServer, auth: str, username: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="amikit")
    c = AMIClient("127.0.0.1", server.port, username, "very-wrong-secret", auth=auth)
    with pytest.raises(AuthenticationError) as info:
        c.connect()
    assert info.value.message == "Authentication failed"
    assert info.value.username == username
    assert "very-wrong-secret" not in str(info.value)
    assert "very-wrong-secret" not in repr(c)
    assert "very-wrong-secret" not in caplog.text
    assert server.login_attempts == 1  # one refusal, no retry
    assert not c.connected
    c.close()


def test_read_only_user_gets_permission_errors(server: AMIServer) -> None:
    from amikit import ActionError
    from amikit.client import AmiHint

    with AMIClient("127.0.0.1", server.port, "reader", "r3ad-only-pw") as c:
        assert c.ping()["Ping"] == "Pong"  # needs no class
        with pytest.raises(ActionError) as info:
            c.command("core show version")
        assert info.value.message == "Permission denied"
        assert info.value.action == "Command"
        with pytest.warns(AmiHint, match="UserEvent needs write class user"):
            resp = c.action("UserEvent", UserEvent="x", raise_on_error=False)
        assert resp["Response"] == "Error" and resp["Message"] == "Permission denied"


def test_connect_refused_is_connect_error() -> None:
    with AMIServer() as srv:
        port = srv.port
    c = AMIClient("127.0.0.1", port, "admin", "amikit", timeout=2)
    with pytest.raises(ConnectError):
        c.connect()


def test_connect_deadline_covers_a_server_that_never_sends_a_banner() -> None:
    with socket.socket() as silent:  # the kernel completes the handshake; nobody speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        c = AMIClient("127.0.0.1", port, "admin", "amikit")  # default timeout: 10 s
        started = time.monotonic()
        with pytest.raises(AmiTimeout, match=r"no AMI banner within 0\.5 s") as raised:
            c.connect(timeout=0.5)
        elapsed = time.monotonic() - started
        assert type(raised.value) is AmiTimeout  # amikit's error, not a bare TimeoutError
        assert 0.45 <= elapsed < 2.0, elapsed  # the deadline given, not three times it

        async def twin() -> float:
            started = time.monotonic()
            with pytest.raises(AmiTimeout, match=r"no AMI banner within 0\.5 s"):
                await c.aconnect(timeout=0.5)
            return time.monotonic() - started

        assert 0.45 <= asyncio.run(twin()) < 2.0
        c.close()


def test_auth_failure_on_reconnect_stops_retrying(server: AMIServer) -> None:
    events = Recorder()
    c = AMIClient(
        "127.0.0.1", server.port, "admin", "amikit", backoff=(0.01, 0.02), ping_interval=0
    )
    c.on_connection(events)
    c.connect()
    server.users["admin"] = User("admin", "rotated-secret")  # the password changed
    server.drop_connections()
    assert events.wait_for(lambda items: any(e.kind == "closed" for e in items))
    closed = next(e for e in events.items if e.kind == "closed")
    assert "Authentication failed" in closed.reason
    assert "amikit" not in closed.reason.replace("amikit.", "")
    assert c.closed
    assert server.login_attempts == 2  # the first login and ONE refused retry
    c.close()


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]):
    cert, key = certificate
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    with AMIServer(USERS, tls=ctx) as srv:
        yield srv


def test_tls_with_verification(tls_server: AMIServer, certificate: tuple[Path, Path]) -> None:
    ctx = ssl.create_default_context(cafile=str(certificate[0]))
    with AMIClient("127.0.0.1", tls_server.port, "admin", "amikit", tls=ctx) as c:
        assert c.command("core show version").startswith("Asterisk")


def test_tls_true_verifies_and_refuses_a_self_signed_server(tls_server: AMIServer) -> None:
    c = AMIClient("127.0.0.1", tls_server.port, "admin", "amikit", tls=True, timeout=5)
    with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        c.connect()


def test_tls_explicit_opt_out(tls_server: AMIServer) -> None:
    with AMIClient("127.0.0.1", tls_server.port, "admin", "amikit", tls="no-verify") as c:
        assert c.ping()["Ping"] == "Pong"


def test_plain_client_against_tls_server_fails_cleanly(tls_server: AMIServer) -> None:
    c = AMIClient("127.0.0.1", tls_server.port, "admin", "amikit", timeout=1)
    with pytest.raises(AmiTimeout, match="no AMI banner within 1 s"):  # it waits for a hello
        c.connect()
