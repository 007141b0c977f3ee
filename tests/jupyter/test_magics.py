"""%ami / %%ami in a bare IPython InteractiveShell, against the real simulator and server."""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from amikit.jupyter._magics import parse_action_block, parse_fields, split_line

SECRET = "s3cr3t-never-shown"


def wait_for(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling interval of a condition check, not synchronisation


def test_help_lists_every_subcommand(ip: InteractiveShell) -> None:
    magic = ip.find_line_magic("ami")
    assert magic is not None and ip.find_cell_magic("ami") is not None
    doc = magic.__doc__ or ""
    for usage in (
        "%ami sim start",
        "%ami sim stop",
        "%ami connect [HOST[:PORT]] [--user U]",
        "%ami action NAME key=value",
        "%%ami",
        "%ami events [PATTERN]",
        "%ami calls",
        "%ami timeline CALL_ID",
        "%ami record start PATH",
        "%ami record stop",
        "%ami sim [--calls-per-minute CALLS_PER_MINUTE]",  # argparse usage lines
        "%ami connect [--user USER]",
        "AMI_SECRET",
    ):
        assert usage in doc, usage


def test_fields_and_action_blocks_parse() -> None:
    assert parse_fields(["Channel=PJSIP/6001", "Variable=A=1", "Variable=B=2"]) == [
        ("Channel", "PJSIP/6001"),
        ("Variable", "A=1"),
        ("Variable", "B=2"),
    ]
    with pytest.raises(UsageError, match="key=value"):
        parse_fields(["oops"])
    block = "# a comment\nAction: Ping\n\nAction: Command\nCommand: core show version\n"
    assert parse_action_block(block) == [
        [("Action", "Ping")],
        [("Action", "Command"), ("Command", "core show version")],
    ]
    with pytest.raises(UsageError, match="starts with 'Action"):
        parse_action_block("Channel: x\n")
    with pytest.raises(UsageError, match="Key: Value"):
        parse_action_block("Action: Ping\nno colon here\n")


def test_a_trailing_comment_is_not_an_argument() -> None:
    # The README's notebook block ends every line in a comment, one holding "--user admin".
    line = "connect   # real PBX: %ami connect pbx:5038 --user admin (secret: $AMI_SECRET)"
    assert split_line(line) == ["connect"]
    assert split_line("sim start --seed 7# not a comment\t# a comment") == [
        "sim", "start", "--seed", "7#", "not", "a", "comment"
    ]  # fmt: skip
    # '#' inside a word, in quotes or escaped is a value, as in a shell
    assert split_line("""action X Filter=a#b "#5" '# x' \\#y""") == [
        "action", "X", "Filter=a#b", "#5", "# x", "#y"
    ]  # fmt: skip
    assert split_line("# only a comment") == []
    with pytest.raises(UsageError, match="No closing quotation"):
        split_line("action X 'open")


def test_magic_lines_with_comments_run(sim_ip: InteractiveShell) -> None:
    pong = sim_ip.run_line_magic("ami", "action Ping   # one action --timeout x")
    assert pong.get("Ping") == "Pong"
    stream = sim_ip.run_line_magic("ami", "events   # live table (Dial* Hangup -VarSet 6001)")
    assert stream is not None
    stream.close()


def test_usage_errors_are_clear(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="unknown %ami subcommand"):
        ip.run_line_magic("ami", "frobnicate")
    with pytest.raises(UsageError, match="not connected"):
        ip.run_line_magic("ami", "action Ping")
    with pytest.raises(UsageError, match="invalid choice: 'sideways'"):
        ip.run_line_magic("ami", "sim sideways")


@pytest.fixture
def sim_ip(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> InteractiveShell:

    monkeypatch.delenv("AMI_SECRET", raising=False)

    def no_prompt(prompt: str = "") -> str:
        raise AssertionError("the simulator's demo user must not prompt")

    monkeypatch.setattr(getpass, "getpass", no_prompt)
    ip.run_line_magic("ami", "sim start --calls-per-minute 300 --seed 7 --speed 4")
    ip.run_line_magic("ami", "connect")
    return ip


def test_sim_connect_action_and_cell_magic(sim_ip: InteractiveShell) -> None:
    ip = sim_ip
    client = ip.user_ns["ami"]
    assert client.connected
    pong = ip.run_line_magic("ami", "action Ping")
    assert pong.get("Response") == "Success" and pong.get("Ping") == "Pong"
    error = ip.run_line_magic("ami", "action NoSuchAction")
    assert error.get("Response") == "Error"  # shown, not raised
    responses = ip.run_cell_magic("ami", "", "Action: Ping\n\nAction: CoreStatus\n")
    assert [r.get("Response") for r in responses] == ["Success", "Success"]
    assert responses[1].get("CoreCurrentCalls") is not None
    single = ip.run_cell_magic("ami", "", "Action: Command\nCommand: core show version\n")
    assert "Asterisk" in "\n".join(single.output)


def test_events_widget_follows_the_simulator(sim_ip: InteractiveShell) -> None:
    stream = sim_ip.run_line_magic("ami", "events --filter Dial*")
    wait_for(lambda: stream.received > 20, what="events in the EventStream")
    stream.flush()
    assert {m.name for m in stream.messages()} <= {"DialBegin", "DialState", "DialEnd"}
    assert stream.messages(), "the simulator dials"


def test_calls_and_timeline_widgets_follow_the_simulator(sim_ip: InteractiveShell) -> None:
    ip = sim_ip
    wait_for(lambda: len(ip.magics_manager.registry["AmiMagics"].history.snapshot()) > 50)
    board = ip.run_line_magic("ami", "calls")
    assert board.received > 0  # prefilled from the session history
    wait_for(lambda: board.finished_total > 0 or board.tracker.active, what="calls")
    ladder = ip.run_line_magic("ami", "timeline")
    wait_for(lambda: ladder.current_call() is not None, what="a call to draw")
    ladder.flush()
    assert ladder.messages(), "the chosen call's events"
    assert "amikit-ladder-events" in ladder._status.value


def test_sim_stop_closes_the_client(sim_ip: InteractiveShell, capsys: Any) -> None:
    client = sim_ip.user_ns["ami"]
    sim_ip.run_line_magic("ami", "sim stop")
    assert client.closed
    assert "simulated PBX stopped" in capsys.readouterr().out


@pytest.fixture
def server() -> Iterator[Any]:
    from amikit import sim

    with sim.AMIServer([sim.User("alice", SECRET)]) as srv:
        yield srv


def test_secret_from_environment_never_reaches_outputs_or_history(
    ip: InteractiveShell, server: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("AMI_SECRET", SECRET)
    ip.run_line_magic("ami", f"connect 127.0.0.1:{server.port} --user alice --as pbx")
    client = ip.user_ns["pbx"]
    assert client.connected
    out = capsys.readouterr()
    assert "connected to" in out.out
    for text in (out.out, out.err, repr(client), repr(ip.user_ns)):
        assert SECRET not in text


def test_secret_is_asked_with_getpass_when_not_in_the_environment(
    ip: InteractiveShell, server: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.delenv("AMI_SECRET", raising=False)
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return SECRET

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    ip.run_line_magic("ami", f"connect 127.0.0.1:{server.port} -u alice")
    assert prompts == [f"AMI secret for alice@127.0.0.1:{server.port}: "]
    assert ip.user_ns["ami"].connected
    assert SECRET not in capsys.readouterr().out


def test_wrong_secret_is_a_clean_error_without_the_secret(
    ip: InteractiveShell, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMI_SECRET", "wrong-" + SECRET)
    with pytest.raises(UsageError, match="AuthenticationError") as info:
        ip.run_line_magic("ami", f"connect 127.0.0.1:{server.port} --user alice")
    assert SECRET not in str(info.value)
    assert "ami" not in ip.user_ns


def test_record_start_and_stop(sim_ip: InteractiveShell, tmp_path: Any) -> None:
    out = tmp_path / "session"
    sim_ip.run_line_magic("ami", f"record start {out}")
    stream = sim_ip.run_line_magic("ami", "events")
    wait_for(lambda: stream.received > 10, what="events while recording")
    sim_ip.run_line_magic("ami", "record stop")
    import amikit

    frame = amikit.load(out)
    assert frame.height > 0


def test_secret_never_reaches_the_history_or_the_output_cache(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell(config=config)
    shell.run_line_magic("load_ext", "amikit")
    try:
        monkeypatch.delenv("AMI_SECRET", raising=False)
        monkeypatch.setattr(getpass, "getpass", lambda prompt="": SECRET)
        result = shell.run_cell(
            f"%ami connect 127.0.0.1:{server.port} --user alice", store_history=True
        )
        assert result.success, result.error_in_exec
        shell.run_cell("%ami action Ping", store_history=True)
        history = "\n".join(
            str(line) for _s, _n, line in shell.history_manager.get_range(output=True)
        )
        assert "%ami connect" in history
        assert SECRET not in history
        assert SECRET not in repr(shell.user_ns.get("In")) + repr(shell.user_ns.get("Out"))
    finally:
        shell.run_line_magic("unload_ext", "amikit")
        shell.history_manager.end_session()
