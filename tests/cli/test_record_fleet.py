"""``amikit record A B``: two simulated PBXs, each with its own login, into one folder.

The logins come from per-host environment variables and a config file, never the command
line; a PBX that refuses its login is named (its secret never shown) while the other one
goes on recording, and the run exits non-zero.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit import AMIClient
from amikit.analysis import calls
from amikit.cli import ExitStatus, main
from amikit.sim import PBX, User

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("answered", "busy")
SECRETS = {"a": "alice-s3cret%x", "b": "bob-s3cret#y"}  # "%" and "#": kept as written


def _wait_for_file_text(path: Path, needle: bytes, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and needle in path.read_bytes()):
        assert time.monotonic() < deadline, f"{needle!r} never reached {path}"
        time.sleep(0.05)  # polling a file another process writes, with a deadline


def _no_ami_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AMI_* variable of the machine running the tests leaks into a login."""
    for name in [k for k in os.environ if k.startswith("AMI_")]:
        monkeypatch.delenv(name)


def _env_name(variable: str, pbx: PBX) -> str:
    return f"{variable}_127_0_0_1_{pbx.port}"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    return {**env, "PYTHONPATH": str(ROOT)}


def _private_config(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def fleet() -> dict[str, PBX]:
    users = {"a": User("alice", SECRETS["a"]), "b": User("bob", SECRETS["b"])}
    # the same seed and clock: both PBXs make the same calls, with (mostly) the same ids,
    # so calls grouped across servers would show as fewer calls
    pbxs = {k: PBX([u], calls_per_minute=0, seed=5, speed=10.0, start_time=1.78e9)
            for k, u in users.items()}  # fmt: skip
    for pbx in pbxs.values():
        pbx.start()
    yield pbxs
    for pbx in pbxs.values():
        pbx.stop()


@pytest.fixture(scope="module")
def recording(fleet: dict[str, PBX], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PBX a's login from its environment variables, PBX b's from the config file (with
    plain-text login, so its secret crosses the wire: it must still never be recorded)."""
    work = tmp_path_factory.mktemp("fleet")
    out = work / "rec"
    a, b = fleet["a"], fleet["b"]
    config = _private_config(
        work / "pbx.ini",
        f"[DEFAULT]\nusername = nobody\n\n[127.0.0.1:{b.port}]\nusername = bob\n"
        f"secret = {SECRETS['b']}\nauth = plain\n",
    )
    env = {
        **_clean_env(),
        _env_name("AMI_USERNAME", a): "alice",
        _env_name("AMI_SECRET", a): SECRETS["a"],
    }
    argv = [sys.executable, "-m", "amikit", "record", f"127.0.0.1:{a.port}",
            f"127.0.0.1:{b.port}", "--config", str(config), "--out", str(out),
            "--stop-after", "60"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        logs = {"a": out / "ami-log.txt", "b": out / f"ami-log-127.0.0.1%3A{b.port}.txt"}
        for log in logs.values():
            _wait_for_file_text(log, b"FullyBooted")  # both recorders are logged in
        # the same calls on both PBXs at about the same simulated second: mostly the same
        # Uniqueids and Linkedids too, which must still make one call per server
        started = [pbx.call(scenario) for scenario in SCENARIOS for pbx in fleet.values()]
        deadline = time.monotonic() + 60
        while not all(c.finished for c in started) and time.monotonic() < deadline:
            time.sleep(0.05)  # the PBX has no "all calls over" event: poll, bounded
        assert all(c.finished for c in started)
        for key, pbx in fleet.items():
            user = "alice" if key == "a" else "bob"
            with AMIClient(pbx.host, pbx.port, user, SECRETS[key], timeout=5.0) as client:
                client.action("UserEvent", UserEvent="RecordingDone")
            _wait_for_file_text(logs[key], b"UserEvent: RecordingDone")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == ExitStatus.INTERRUPTED, err
    for pbx in (a, b):
        assert f"recording 127.0.0.1:{pbx.port} -> {out}" in err
    assert SECRETS["a"] not in err and SECRETS["b"] not in err
    return out


def test_both_servers_in_one_dataset_and_calls_never_mixed(
    fleet: dict[str, PBX], recording: Path
) -> None:
    servers = {k: f"127.0.0.1:{pbx.port}" for k, pbx in fleet.items()}
    frame = amikit.load(recording)
    assert sorted(frame["server"].unique().to_list()) == sorted(servers.values())
    parts = {p.parent.parent.name for p in recording.rglob("*.parquet")}
    assert parts == {f"server=127.0.0.1%3A{pbx.port}" for pbx in fleet.values()}
    summary = calls(frame)
    assert summary.height == 2 * len(SCENARIOS)
    for server in servers.values():
        mine = summary.filter(pl.col("server") == server)
        assert sorted(mine["disposition"].to_list()) == ["ANSWERED", "BUSY"]
    for call_id, servers_of_call in summary.group_by("call_id").agg("server").iter_rows():
        assert len(set(servers_of_call)) == len(servers_of_call), call_id  # one per server


def test_secrets_are_nowhere_in_the_recording(recording: Path) -> None:
    for path in recording.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in SECRETS.values():
                assert secret.encode() not in data, path


def test_calls_and_stats_of_each_server(
    fleet: dict[str, PBX], recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for pbx in fleet.values():
        assert main(["calls", str(recording), "--server", f"127.0.0.1:{pbx.port}"]) == 0
        assert f"{len(SCENARIOS)} calls, 1 answered" in capsys.readouterr().out
    assert main(["stats", str(recording), "--format", "csv"]) == 0
    table = pl.read_csv(capsys.readouterr().out.encode())
    per_server = table.filter(pl.col("by") == "server").select("key", "calls", "answered")
    assert sorted(per_server.iter_rows()) == sorted(
        (f"127.0.0.1:{pbx.port}", len(SCENARIOS), 1) for pbx in fleet.values()
    )
    assert main(["stats", str(recording)]) == 0
    assert "by server" in capsys.readouterr().out


def test_a_refused_login_names_its_host_and_the_other_goes_on(
    fleet: dict[str, PBX],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = fleet["a"], fleet["b"]
    _no_ami_environment(monkeypatch)
    monkeypatch.setenv(_env_name("AMI_USERNAME", a), "alice")
    monkeypatch.setenv(_env_name("AMI_SECRET", a), SECRETS["a"])
    monkeypatch.setenv("AMI_USERNAME", "bob")
    monkeypatch.setenv("AMI_SECRET", "not-bobs-secret")  # the fallback: wrong for b
    out = tmp_path / "rec"
    status = main(["record", f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}", "--out", str(out),
                   "--stop-after", "1"])  # fmt: skip
    assert status == ExitStatus.AUTH
    err = capsys.readouterr().err
    assert f"127.0.0.1:{b.port}: login refused for user 'bob'" in err
    assert f"recording 127.0.0.1:{a.port}" in err
    assert f"1 of 2 servers not recorded (in full): 127.0.0.1:{b.port} (login refused)" in err
    assert "not-bobs-secret" not in err and SECRETS["a"] not in err
    frame = amikit.load(out)  # a was recorded all the same
    assert frame["server"].unique().to_list() == [f"127.0.0.1:{a.port}"]
    assert frame.filter(pl.col("event") == "FullyBooted").height == 1
    assert sorted(p.name for p in out.glob("ami-log*")) == ["ami-log.txt",
                                                            "ami-log.txt.index.jsonl"]  # fmt: skip


def test_an_unreachable_host_is_named_and_nothing_is_left_when_all_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = int(sock.getsockname()[1])  # nobody listens once the socket is closed
    monkeypatch.setenv("AMI_USERNAME", "admin")
    monkeypatch.setenv("AMI_SECRET", "whatever")
    out = tmp_path / "rec"
    status = main(["record", f"127.0.0.1:{closed}", f"localhost:{closed}", "--out", str(out)])
    assert status == ExitStatus.CONNECT
    err = capsys.readouterr().err
    assert f"127.0.0.1:{closed}" in err and f"localhost:{closed}" in err
    assert not out.exists()


def test_the_config_file_must_be_private_and_its_errors_show_no_secret(
    fleet: dict[str, PBX], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = fleet["a"], fleet["b"]
    servers = [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]
    config = tmp_path / "pbx.ini"
    config.write_text(f"[127.0.0.1]\nusername = alice\nsecret = {SECRETS['a']}\n")
    config.chmod(0o644)
    out = tmp_path / "rec"
    assert main(["record", *servers, "--config", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(config) in err and "0644" in err and "chmod 600" in err
    config.write_text(f"[127.0.0.1]\nusername = alice\n{SECRETS['a']}\n")  # no "key ="
    config.chmod(0o600)
    assert main(["record", *servers, "--config", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{config}: line 3 is not INI" in err and SECRETS["a"] not in err
    config.write_text("[127.0.0.1]\npassword = x\n")
    assert main(["record", *servers, "--config", str(config), "--out", str(out)]) == 2
    assert "unknown key 'password'" in capsys.readouterr().err
    assert not out.exists()


def test_no_secret_on_the_command_line_and_none_in_a_repr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from amikit._cli._logins import Login

    for flag in ("--secret", "--password"):
        with pytest.raises(SystemExit) as exit_:
            main(["record", "pbx", flag, "x", "--out", str(tmp_path / "rec")])
        assert exit_.value.code == ExitStatus.USAGE
    capsys.readouterr()
    assert "hunter2" not in repr(Login("admin", "hunter2"))


def test_a_missing_secret_says_which_variables_for_which_host(
    fleet: dict[str, PBX],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = fleet["a"], fleet["b"]
    _no_ami_environment(monkeypatch)
    monkeypatch.setenv("AMI_USERNAME", "alice")
    monkeypatch.setenv(f"AMI_SECRET_127_0_0_1_{a.port}", SECRETS["a"])
    with open(os.devnull) as nobody:  # no terminal: nobody to ask
        monkeypatch.setattr(sys, "stdin", nobody)
        status = main(["record", f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}",
                       "--out", str(tmp_path / "rec")])  # fmt: skip
    assert status == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert f"no secret for 127.0.0.1:{b.port}" in err
    assert f"AMI_SECRET_127_0_0_1_{b.port} or AMI_SECRET_127_0_0_1 or AMI_SECRET" in err


def test_a_server_that_refuses_a_reconnect_stops_alone(tmp_path: Path) -> None:
    """PBX b restarts with another secret: b's recording stops (named, exit status 3), a's
    goes on to the end."""
    out, log = tmp_path / "rec", tmp_path / "stderr.txt"
    with PBX([User("alice", SECRETS["a"])], calls_per_minute=0) as a, \
            PBX([User("bob", SECRETS["b"])], calls_per_minute=0) as b:  # fmt: skip
        env = {**_clean_env(), _env_name("AMI_USERNAME", a): "alice",
               _env_name("AMI_SECRET", a): SECRETS["a"], _env_name("AMI_USERNAME", b): "bob",
               _env_name("AMI_SECRET", b): SECRETS["b"]}  # fmt: skip
        argv = [sys.executable, "-m", "amikit", "record", f"127.0.0.1:{a.port}",
                f"127.0.0.1:{b.port}", "--out", str(out), "--stop-after", "60"]  # fmt: skip
        with open(log, "w") as stderr:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=stderr)  # fmt: skip
        try:
            a_log = out / "ami-log.txt"
            b_log = out / f"ami-log-127.0.0.1%3A{b.port}.txt"
            for path in (a_log, b_log):
                _wait_for_file_text(path, b"FullyBooted")
            b.server.users = {"bob": User("bob", "a-new-secret")}
            b.restart()  # the recorder's client reconnects, and its login is refused
            _wait_for_file_text(log, b"no longer recording")
            with AMIClient(a.host, a.port, "alice", SECRETS["a"], timeout=5.0) as client:
                client.action("UserEvent", UserEvent="StillRecording")
            _wait_for_file_text(a_log, b"UserEvent: StillRecording")
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = log.read_text()
    assert proc.returncode == ExitStatus.AUTH, err
    assert f"-- 127.0.0.1:{b.port}: login refused for user 'bob'" in err
    assert f"1 of 2 servers not recorded (in full): 127.0.0.1:{b.port} (login refused)" in err
    assert SECRETS["b"] not in err and "a-new-secret" not in err
    frame = amikit.load(out)
    servers = dict(frame.group_by("server").len().iter_rows())
    assert set(servers) == {f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"}
    assert frame.filter(pl.col("UserEvent") == "StillRecording").height == 1
