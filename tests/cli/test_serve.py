"""``amikit serve``: a separate process any plain client can use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.sim._raw import RawAMI
from tests.sim._real import AST

ROOT = Path(__file__).resolve().parents[2]


def _serve(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "amikit", "serve", "--port", "0", "--seconds", "60", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    info: dict[str, str] = {}
    assert proc.stdout is not None
    while "secret" not in info:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError("amikit serve ended early")
        key, _, value = line.partition(": ")
        info[key.strip()] = value.strip()
    return proc, info


@pytest.fixture
def served(request):
    proc, info = _serve(*request.param)
    yield info
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()


@pytest.mark.parametrize("served", [("--calls-per-minute", "0", "--seed", "1")], indirect=True)
def test_serve_prints_where_and_how_to_connect_and_serves_the_pbx(served):
    assert served["host"] == "127.0.0.1"
    assert (served["username"], served["secret"]) == ("admin", "amikit")
    client = RawAMI(served["host"], int(served["port"]))
    assert client.login(served["username"], served["secret"])["Response"] == "Success"
    client.action("Originate", "o", Channel="Local/500@internal", Exten="talk", Async="true")
    event = client.wait_for(lambda f: f.get("Event") == "OriginateResponse")
    assert (event["Response"], event["Reason"]) == ("Failure", "5")
    client.close()


@pytest.mark.parametrize(
    "served", [("--replay", str(AST / "kinds" / "pickup.raw"), "--speed", "1000")], indirect=True
)
def test_serve_replay(served):
    client = RawAMI(served["host"], int(served["port"]))
    client.login()
    client.wait_for(lambda f: f.get("Event") == "Pickup")
    client.close()


def test_serve_replays_a_parquet_recording(tmp_path):
    import amikit

    recording = tmp_path / "pickup.parquet"
    amikit.load(AST / "kinds" / "pickup.raw").write_parquet(recording)
    proc, info = _serve("--replay", str(recording), "--speed", "1000")
    try:
        assert "replaying" in info["amikit serve"]
        client = RawAMI(info["host"], int(info["port"]))
        client.login()
        event = client.wait_for(lambda f: f.get("Event") == "Pickup")
        assert event["Channel"]
        client.close()
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
