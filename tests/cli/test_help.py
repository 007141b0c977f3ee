"""``amikit X --help`` lists X's own options, each with a line of help, and examples."""

from __future__ import annotations

import argparse
import socket

import pytest

from amikit.cli import COMMANDS, ExitStatus, build_parser, main


def _options(command: str) -> list[argparse.Action]:
    parser = build_parser(command)
    sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    return [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_of_every_subcommand_lists_its_options_and_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    options = _options(command)
    assert options, f"{command} has no options at all"
    for action in options:
        assert action.help and action.help.strip(), f"{command}: {action.dest} has no help"
        for flag in action.option_strings or [action.metavar or action.dest]:
            assert flag in text, f"amikit {command} --help does not show {flag}"
    examples = text.split("examples:\n", 1)[1]
    assert f"amikit {command}" in examples


def test_the_options_of_the_issue_are_discoverable(capsys: pytest.CaptureFixture[str]) -> None:
    wanted = [("demo", "--out"), ("demo", "--seconds"), ("serve", "--port"),
              ("serve", "--replay"), ("tail", "--events"), ("tail", "--fold-noise")]  # fmt: skip
    for command, flag in wanted:
        with pytest.raises(SystemExit):
            main([command, "-h"])
        assert flag in capsys.readouterr().out


def test_top_level_options_before_the_command_still_work(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--traceback", "stats", "--help"])
    assert "--top" in capsys.readouterr().out
    assert main([]) == ExitStatus.USAGE


def test_serve_on_a_taken_port_says_which_and_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = main(["serve", "--port", str(port), "--seconds", "0"])
    err = capsys.readouterr().err
    assert status == ExitStatus.ERROR
    assert err.count("\n") == 1
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert f"--port {port + 1}" in err and "--port 0" in err
