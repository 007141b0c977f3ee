"""Tab completion of AMI actions and parameters, through IPython's own completer API."""

from __future__ import annotations

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from amikit.jupyter import Explanation
from amikit.jupyter._complete import complete


def tab(ip: InteractiveShell, text: str, cursor: int | None = None) -> list[str]:
    """What Jupyter shows on TAB at ``cursor``: the shell's completions, as inserted text."""
    cursor = len(text) if cursor is None else cursor
    with provisionalcompleter():
        found = list(ip.Completer.completions(text, cursor))
    return [text[: c.start] + c.text for c in found]


def test_magic_completes_action_names_then_their_parameters(ip: InteractiveShell) -> None:
    assert "%ami action Originate" in tab(ip, "%ami action Orig")
    params = tab(ip, "%ami action Originate Cha")
    assert "%ami action Originate Channel=" in params
    assert "%ami action Originate ChannelId=" in params
    # a parameter already given is not offered again; the rest are, in any case
    after = tab(ip, "%ami action originate Channel=PJSIP/6001 ")
    assert not any(t.endswith(" Channel=") for t in after)
    assert "%ami action originate Channel=PJSIP/6001 Exten=" in after
    assert tab(ip, "%ami ac") == ["%ami action"]


def test_help_completes_events_and_actions(ip: InteractiveShell) -> None:
    found = tab(ip, "%ami help DialE")
    assert found == ["%ami help DialEnd"]
    assert "%ami help QueueStatus" in tab(ip, "%ami help QueueSt")


def test_action_call_completes_inside_the_string_and_its_keywords(ip: InteractiveShell) -> None:
    assert 'ami.action("Originate' in tab(ip, 'ami.action("Orig')
    assert "resp = await ami.aaction('CoreShowChannels" in tab(
        ip, "resp = await ami.aaction('CoreShowCh"
    )
    found = tab(ip, 'ami.action("Originate", Channel="PJSIP/6001", Ex')
    assert 'ami.action("Originate", Channel="PJSIP/6001", Exten=' in found
    # the cursor in the middle of a cell: only the text before it counts
    text = 'ami.action("Redir")\nprint(1)'
    assert tab(ip, text, cursor=len('ami.action("Redir')) == ['ami.action("Redirect']


def test_cell_magic_completes_action_and_parameter_lines(ip: InteractiveShell) -> None:
    cell = "%%ami\nAction: Orig"
    assert tab(ip, cell) == ["%%ami\nAction: Originate"]
    cell = "%%ami\nAction: Originate\nChannel: PJSIP/6001\nEx"
    assert tab(ip, cell) == ["%%ami\nAction: Originate\nChannel: PJSIP/6001\nExten: "]


def test_ordinary_python_completion_is_untouched(ip: InteractiveShell) -> None:
    ip.user_ns["amikit_value_for_test"] = 1
    assert "amikit_value_for_test" in tab(ip, "amikit_value_for")
    assert complete("print(1)") is None
    assert complete('ami.action("NoSuchThingAtAll') is None


def test_completer_is_removed_on_unload() -> None:
    shell = InteractiveShell(config=Config({"HistoryAccessor": {"enabled": False}}))
    shell.run_line_magic("load_ext", "amikit")
    assert any(
        getattr(m, "matcher_identifier", "") == "amikit" for m in shell.Completer.custom_matchers
    )
    shell.run_line_magic("unload_ext", "amikit")
    assert not any(
        getattr(m, "matcher_identifier", "") == "amikit" for m in shell.Completer.custom_matchers
    )


def test_ami_help_shows_explain(ip: InteractiveShell) -> None:
    exp = ip.run_line_magic("ami", "help Originate")
    assert isinstance(exp, Explanation) and exp.kind == "action"
    assert exp.section("Example").startswith('ami.action("Originate"')
    assert ip.run_line_magic("ami", "help Hangup action").kind == "action"
    assert ip.run_line_magic("ami", "help hangup").kind == "event"
    assert "Originate" in ip.run_line_magic("ami", "help Orignate").suggestions


def test_magics_give_the_hints_and_the_opt_out(ip: InteractiveShell, monkeypatch) -> None:
    """%ami action: a missing required parameter is a clear error; --no-check sends anyway."""
    import getpass

    from IPython.core.error import UsageError

    from amikit.client import AmiHint

    monkeypatch.delenv("AMI_SECRET", raising=False)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": pytest.fail("no prompt expected"))
    ip.run_line_magic("ami", "sim start --calls-per-minute 0 --seed 3")
    ip.run_line_magic("ami", "connect")
    with pytest.raises(UsageError, match=r"Getvar needs Variable .*check=False"):
        ip.run_line_magic("ami", "action Getvar Channel=PJSIP/6001-00000001")
    with pytest.raises(UsageError, match="Getvar needs Variable"):
        ip.run_cell_magic("ami", "", "Action: Getvar\nChannel: PJSIP/6001-00000001\n")
    # opted out: the PBX itself answers (an error here, shown rather than raised)
    # (the simulator has no Getvar: the hint says the action exists but the module is missing)
    with pytest.warns(AmiHint, match=r"Getvar is a documented Asterisk action \(main/manager"):
        reply = ip.run_line_magic("ami", "action Getvar Channel=PJSIP/6001-00000001 --no-check")
    assert reply.get("Response") == "Error"
    with pytest.warns(AmiHint, match="did you mean CoreStatus"):
        reply = ip.run_line_magic("ami", "action CoreStatu")
    assert reply.get("Response") == "Error"
