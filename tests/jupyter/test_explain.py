"""amikit.explain: plain words for events, actions, fields and messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import amikit
from amikit import Message
from amikit.jupyter import Explanation, describe_field, explain
from amikit.protocol import Parser
from amikit.record._files import read_capture

from ..conftest import DATA

EVENTS_JSON = Path(amikit.__file__).parent / "_reference" / "ami-events.json"


def test_every_documented_event_is_explained_with_its_fields() -> None:
    catalog = json.loads(EVENTS_JSON.read_text())
    assert len(catalog) == 181
    for name, variants in catalog.items():
        exp = explain(name)
        assert exp.kind in ("event", "action"), name
        if exp.kind == "action":
            exp = explain(name, kind="event")
        assert exp.kind == "event" and exp.summary, name
        names = {note.name for note in exp.fields}
        for param in variants[0]["params"]:
            assert param in names, (name, param)


def test_event_lookup_is_case_insensitive_and_prefers_the_wire_spelling() -> None:
    assert explain("hangup").name == "Hangup"
    assert explain("NEWEXTEN").name == "Newexten"
    assert explain("Newexten").noise and explain("VarSet").noise
    assert not explain("DialBegin").noise


def test_hangup_lists_snapshot_and_cause_fields_in_plain_words() -> None:
    exp = explain("Hangup")
    assert exp.event_class == "call" and exp.since == "12.0.0"
    assert "Linkedid" in exp.meaning("linkedid") or "oldest channel" in exp.meaning("Linkedid")
    assert "hangup cause" in exp.meaning("Cause-txt")
    text = str(exp)
    assert text.startswith("Hangup (event, class call")
    assert "Cause-txt" in text


def test_name_that_is_event_and_action_can_be_disambiguated() -> None:
    assert explain("Hangup").kind == "event"
    action = explain("Hangup", kind="action")
    assert action.kind == "action"
    assert [n.name for n in action.fields] == ["Channel", "Cause"]
    assert explain("Originate").kind == "action"
    assert "Async" in {n.name for n in explain("Originate").fields}


def test_role_prefixed_fields_are_explained() -> None:
    assert describe_field("DestCallerIDNum").startswith("the channel being dialled")
    assert "the ;1 half" in describe_field("LocalOneUniqueid")
    assert "merged away" in describe_field("FromBridgeUniqueid")
    assert explain("DestLinkedid").kind == "field"
    assert describe_field("ChanVariable(PJSIP/1-0001)").startswith("a channel variable")
    assert describe_field("NoSuchField") == ""


def test_unknown_name_suggests_close_known_names() -> None:
    exp = explain("Hangp")
    assert exp.kind == "unknown"
    assert "Hangup" in exp.suggestions
    assert "Did you mean: Hangup" in str(exp)


def test_explaining_a_real_message_shows_its_values_and_the_cause_meaning() -> None:
    messages = Parser().feed(read_capture(DATA / "ami-samples" / "07_busy_reject__cacofonisk.ami"))
    hangup = next(m for m in messages if m.name == "Hangup" and m.get("Cause") == "17")
    exp = explain(hangup)
    assert exp.kind == "event" and exp.name == "Hangup"
    assert [n.name for n in exp.fields] == [k for k, _ in hangup.items() if k != "Event"]
    cause = next(n for n in exp.fields if n.name == "Cause")
    assert cause.value == "17" and "busy" in cause.meaning
    html = exp._repr_html_()
    assert "<table" in html and "Cause-txt" in html and "amikit-explain" in html


def test_secrets_are_masked_in_every_rendering() -> None:
    login = Message.from_pairs(
        [("Action", "Login"), ("Username", "admin"), ("Secret", "hunter2-secret")]
    )
    exp = explain(login)
    assert exp.kind == "action" and exp.name == "Login"
    for text in (str(exp), exp._repr_html_(), repr(exp), repr(exp.fields)):
        assert "hunter2-secret" not in text
    assert "********" in str(exp)


def test_response_and_frame_row() -> None:
    error = Message.from_pairs([("Response", "Error"), ("Message", "Permission denied")])
    exp = explain(error)
    assert exp.kind == "response" and "refused" in exp.summary
    row = {"kind": "event", "event": "DialEnd", "DialStatus": "BUSY", "extra": []}
    exp = explain(row)
    assert exp.name == "DialEnd"
    assert [(n.name, n.value) for n in exp.fields] == [("DialStatus", "BUSY")]


def test_explain_rejects_other_types_clearly() -> None:
    with pytest.raises(TypeError, match="explain"):
        explain(42)  # type: ignore[arg-type]


def test_amikit_explain_stays_free_of_ipython_and_widgets() -> None:
    code = (
        "import sys, amikit; amikit.explain('Hangup'); "
        "bad = [m for m in ('IPython', 'ipywidgets', 'polars') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert isinstance(amikit.explain("Hangup"), Explanation)


def test_hangup_causes_in_plain_words() -> None:
    from amikit.jupyter import describe_cause

    assert describe_cause(17) == "user busy: the callee was busy"
    assert describe_cause("16 Normal Clearing").startswith("normal clearing")
    assert describe_cause("999") == "cause 999"
    assert describe_cause(None) == ""
