"""``amikit tail --fold-noise --collapse``: noise counted not printed, repeats folded."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from amikit.analysis import NOISE_EVENTS, is_noise
from amikit.sim import AMIServer
from tests.client.conftest import user_event
from tests.client.test_cli_tail import _env, _read_until


@pytest.fixture
def server():
    with AMIServer() as srv:
        yield srv


def _tail(server: AMIServer, *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amikit",
            "tail",
            server.address,
            "-u",
            "admin",
            "--oneline",
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_env(AMI_SECRET="amikit"),
    )


def _event(name: str, **fields: str) -> list[tuple[str, str]]:
    return [("Event", name), ("Privilege", "call,all"), *fields.items()]


def _noise_and_repeats(server: AMIServer) -> None:
    server.broadcast(_event("Newchannel", Channel="PJSIP/100-1", Uniqueid="1.1"))
    for i in range(3):
        server.broadcast(_event("VarSet", Channel="PJSIP/100-1", Variable=f"V{i}", Value="x"))
    server.broadcast(_event("Newexten", Channel="PJSIP/100-1", Application="Dial"))
    server.broadcast(_event("RTCPSent", Channel="PJSIP/100-1"))
    for _ in range(4):  # the same event four times: one line and "repeated 4 times"
        server.broadcast(_event("DialEnd", Channel="PJSIP/100-1", DialStatus="CANCEL"))
    server.broadcast(_event("Hangup", Channel="PJSIP/100-1", Cause="16"))
    server.broadcast(user_event("Done", Where="end"))


def _run(server: AMIServer, *flags: str) -> tuple[str, str]:
    with _tail(server, *flags) as proc:
        try:
            assert "connected to" in _read_until(proc.stderr, "Ctrl-C")
            _noise_and_repeats(server)
            out = _read_until(proc.stdout, "Where=end")
            proc.send_signal(signal.SIGINT)
            assert proc.wait(15) == 130
            out += proc.stdout.read().decode()
            err = proc.stderr.read().decode()
            assert "Traceback" not in err
            return out, err
        finally:
            if proc.poll() is None:
                proc.kill()


def _names(out: str) -> list[str]:
    return [line.split()[1] for line in out.splitlines() if line and line[0].isdigit()]


def test_fold_noise_counts_the_default_noise_set_and_prints_the_rest(server):
    out, err = _run(server, "--fold-noise")
    assert _names(out) == ["Newchannel"] + ["DialEnd"] * 4 + ["Hangup", "UserEvent"]
    assert "noise folded: 5 (VarSet 3, Newexten 1, RTCPSent 1)" in err


def test_collapse_folds_repeats_and_reports_the_run(server):
    out, err = _run(server, "--collapse", "--fold-noise")
    assert _names(out) == ["Newchannel", "DialEnd", "Hangup", "UserEvent"]
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if " DialEnd " in line)
    assert lines[at + 1].startswith("  ^ DialEnd repeated 4 times over ")
    assert "repeats folded: 3" in err and "duplicates hidden: 0" in err


def test_without_flags_everything_is_printed(server):
    with _tail(server) as proc:
        try:
            _read_until(proc.stderr, "Ctrl-C")
            _noise_and_repeats(server)
            out = _read_until(proc.stdout, "Where=end")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(15)
    assert _names(out).count("VarSet") == 3 and _names(out).count("DialEnd") == 4


def test_is_noise_is_the_drop_noise_set():
    import polars as pl

    from amikit.analysis import drop_noise

    names = sorted(n.rstrip("*") + ("Sent" if n.endswith("*") else "") for n in NOISE_EVENTS)
    names += ["Newchannel", "Hangup", "DialBegin", "UserEvent", "BridgeEnter"]
    frame = pl.DataFrame({"kind": ["event"] * len(names), "event": names})
    kept = set(drop_noise(frame)["event"])
    assert {n for n in names if not is_noise(n)} == kept
