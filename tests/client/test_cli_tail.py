"""``amikit tail``: credentials, filters, Ctrl-C, and asking again on a terminal."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from amikit._cli._connect import split_server
from amikit.sim import AMIServer

from .conftest import user_event, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **extra)
    return env


def _read_until(stream, needle: str, timeout: float = 15.0) -> str:
    """Read a pipe until ``needle`` appears (select with a deadline, no sleeps)."""
    return _fd_until(stream.fileno(), needle, timeout)


def _fd_until(fd: int, needle: str, timeout: float = 15.0) -> str:
    """Read a pipe or terminal fd until ``needle`` appears; EOF or a closed pty fails."""
    data = ""
    deadline = time.monotonic() + timeout
    while needle not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{needle!r} not seen in {data!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 65536).decode(errors="replace")
            except OSError as exc:  # a pty whose other side closed reads as EIO
                raise AssertionError(f"closed before {needle!r}: {data!r}") from exc
            if not chunk:
                raise AssertionError(f"EOF before {needle!r}: {data!r}")
            data += chunk
    return data


def test_split_server() -> None:
    assert split_server("pbx") == ("pbx", 5038)
    assert split_server("127.0.0.1:5039") == ("127.0.0.1", 5039)
    assert split_server("[::1]:7000") == ("::1", 7000)


def test_tail_prints_filtered_events_and_exits_130_on_ctrl_c(server: AMIServer) -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amikit",
            "tail",
            server.address,
            "--user",
            "admin",
            "--events",
            "User*",
            "--oneline",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_env(AMI_SECRET="amikit"),
    ) as proc:
        try:
            assert "connected to" in _read_until(proc.stderr, "Ctrl-C")
            server.broadcast([("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "X")])
            server.broadcast(user_event("Hello", Where="tail"))
            out = _read_until(proc.stdout, "Where=tail")
            assert "UserEvent" in out and "Newchannel" not in out
            proc.send_signal(signal.SIGINT)
            assert proc.wait(15) == 130
            err = proc.stderr.read().decode()
            assert "Traceback" not in err
            assert wait_until(lambda: not server.sessions)  # logged off, connection closed
        finally:
            if proc.poll() is None:
                proc.kill()


def test_tail_wrong_credentials_without_terminal_exits_3(server: AMIServer) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "amikit", "tail", server.address],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=_env(AMI_USERNAME="admin", AMI_SECRET="wrong-one"),
    )
    assert proc.returncode == 3
    assert "Authentication failed" in proc.stderr
    assert "wrong-one" not in proc.stderr + proc.stdout
    assert server.login_attempts == 1


def test_tail_without_credentials_or_terminal_is_a_usage_error(server: AMIServer) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "amikit", "tail", server.address],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=_env(),
    )
    assert proc.returncode == 2 and "AMI_SECRET" in proc.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="pty")
def test_tail_asks_again_on_a_terminal(server: AMIServer) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: amikit tail on a real terminal
        try:
            argv = [sys.executable, "-m", "amikit", "tail", server.address, "--oneline"]
            os.execve(sys.executable, argv, _env())
        finally:
            os._exit(127)  # never return into pytest in the child
    try:
        seen = _fd_until(fd, "Username: ")
        os.write(fd, b"admin\n")
        seen += _fd_until(fd, "Secret: ")
        os.write(fd, b"not-it\n")
        seen += _fd_until(fd, "Username [admin]: ")
        assert "Authentication failed" in seen and "not-it" not in seen  # never echoed
        os.write(fd, b"\n")
        _fd_until(fd, "Secret: ")
        os.write(fd, b"amikit\n")
        _fd_until(fd, "Ctrl-C")
        server.broadcast(user_event("OnTerminal"))
        _fd_until(fd, "UserEvent=OnTerminal")
        os.kill(pid, signal.SIGINT)
        assert _exit_code(pid) == 130
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def _exit_code(pid: int, timeout: float = 15.0) -> int | None:
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        tick.wait(0.01)
    return None
