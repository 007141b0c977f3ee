"""Bad inputs: one clear line and a non-zero exit, judged the same way by every command;
a failed ``amikit record`` leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from amikit.cli import ExitStatus, main

README = Path(__file__).resolve().parents[2] / "README.md"
READERS = ["summary", "calls", "stats"]


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    garbage = tmp / "garbage.txt"
    garbage.write_text("hello\nthis is not AMI at all\n")
    renamed = tmp / "notes.parquet"  # a text file renamed .parquet
    shutil.copy(README, renamed)
    fifo = tmp / "fifo"
    os.mkfifo(fifo)  # nobody ever writes to it: opening it would block for ever
    empty = tmp / "failed-recording"
    empty.mkdir()
    (empty / "ami-log.txt").touch()
    return {
        "garbage": garbage,
        "renamed": renamed,
        "fifo": fifo,
        "device": Path("/dev/zero"),  # would never end
        "empty recording": empty,
        "empty capture": (tmp / "empty.raw"),
        "missing": tmp / "nope.raw",
    }


@pytest.mark.timeout(60)
def test_bad_inputs_get_one_line_a_non_zero_exit_and_the_same_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = _bad_inputs(tmp_path)
    inputs["empty capture"].touch()
    for what, path in inputs.items():
        verdicts = {}
        for command in READERS:
            assert main([command, str(path)]) == ExitStatus.ERROR, (command, what)
            captured = capsys.readouterr()
            assert captured.out == "", (command, what)
            assert captured.err.count("\n") == 1, (command, what, captured.err)
            assert captured.err.startswith("amikit: ") and str(path) in captured.err
            verdicts[command] = captured.err
        assert len(set(verdicts.values())) == 1, (what, verdicts)  # the one shared judgement


def test_the_verdicts_say_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    inputs = _bad_inputs(tmp_path)
    expected = {
        "renamed": "not an AMI recording",
        "fifo": "is a FIFO (named pipe), not a file",
        "device": "is a character device, not a file",
        "empty recording": "holds no AMI messages",
        "missing": "no such file or directory",
    }
    for what, text in expected.items():
        main(["calls", str(inputs[what])])
        assert text in capsys.readouterr().err, what


@pytest.mark.timeout(60)
def test_every_command_that_reads_a_file_refuses_fifos_and_devices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = _bad_inputs(tmp_path)
    for path in (inputs["fifo"], inputs["device"]):
        for argv in (
            ["timeline", str(path), "1"],
            ["convert", str(path), "--to", str(tmp_path / "out"), "--quiet"],
            ["serve", "--replay", str(path), "--port", "0", "--seconds", "0"],
        ):
            assert main(argv) == ExitStatus.ERROR, argv
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "not a file" in err, (argv, err)
    assert not (tmp_path / "out").exists()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again on leaving: nobody listens


@pytest.fixture
def pbx():
    from amikit.sim import PBX

    with PBX(calls_per_minute=0, seed=1) as server:
        yield server


@pytest.mark.parametrize("existing", [False, True], ids=["new-folder", "existing-folder"])
def test_a_failed_record_leaves_nothing_behind(
    tmp_path: Path,
    pbx,
    existing: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "rec"
    if existing:
        out.mkdir()
        (out / "mine.txt").write_text("kept")
    monkeypatch.setenv("AMI_SECRET", "wrong-secret")
    status = main(["record", f"127.0.0.1:{pbx.port}", "--user", "admin", "--out", str(out)])
    assert status == ExitStatus.AUTH
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "login refused" in err and "wrong-secret" not in err
    monkeypatch.setenv("AMI_SECRET", "amikit")
    port = _closed_port()
    status = main(["record", f"127.0.0.1:{port}", "--user", "admin", "--out", str(out)])
    assert status == ExitStatus.CONNECT
    assert f"127.0.0.1:{port}" in capsys.readouterr().err
    if existing:
        assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    else:
        assert not out.exists()
