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


# --- every documented event and action, in amikit's own words (issue 15) -------------------

ACTIONS_JSON = Path(amikit.__file__).parent / "_reference" / "ami-actions.json"
SHARED = Path("/work/shared/reference")


def test_the_packaged_facts_are_the_shared_reference_unchanged() -> None:
    for name in ("ami-events.json", "ami-actions.json"):
        if (SHARED / name).exists():
            assert json.loads((SHARED / name).read_text()) == json.loads(
                (EVENTS_JSON.parent / name).read_text()
            ), name


def test_all_181_events_have_own_words_class_fields_and_neighbours() -> None:
    from amikit.jupyter._explain import _words

    catalog = json.loads(EVENTS_JSON.read_text())
    assert len(catalog) == 181
    covered = 0
    for name in catalog:
        exp = explain(name, kind="event")
        assert exp.kind == "event", name
        words = _words("events")[name.lower()]
        assert exp.summary.startswith(words["what"]), name
        assert "no plain-words summary" not in exp.summary, name
        assert exp.section("Read class"), name
        # the fields that matter are listed, and each has a meaning
        listed = {n.name.lower(): n.meaning for n in exp.fields}
        for field in words["fields"].split():
            if field != "ActionID":
                assert listed.get(field.lower()), (name, field)
        # neighbours are events amikit can explain
        for key in ("follows", "precedes"):
            for other in words[key].split():
                assert explain(other, kind="event").kind == "event", (name, other)
        covered += 1
    assert covered == 181


def test_all_154_actions_have_own_words_classes_returns_and_a_valid_example() -> None:
    import ast

    catalog = json.loads(ACTIONS_JSON.read_text())
    assert len(catalog) == 154
    for name, facts in catalog.items():
        exp = explain(name, kind="action")
        assert exp.kind == "action" and exp.name == name, name
        assert exp.section("Write class") and exp.section("Returns"), name
        params = [p for p in facts["params"] if p["name"] != "ActionID"]
        assert [(n.name, n.required) for n in exp.fields] == [
            (p["name"], p["required"]) for p in params
        ], name
        for cls in facts["write_class"]:
            if cls != "none":
                assert cls in exp.section("Write class"), name
        for event in facts["list_events"]:
            assert event in exp.section("Returns"), (name, event)
        # the example is one call of the amikit client, with every required parameter
        call = ast.parse(exp.section("Example")).body[0].value
        assert ast.unparse(call.func) == "ami.action" and call.args[0].value == name
        given = {k.arg.lower() for k in call.keywords if k.arg}
        if len(call.args) > 1:
            given |= {k.value.lower() for k in call.args[1].keys}
        for p in params:
            if p["required"]:
                assert p["name"].lower() in given, (name, p["name"])


def test_every_description_is_distinct_and_specific() -> None:
    from amikit.jupyter._explain import _words

    texts = [w["what"] for w in _words("events").values()]
    texts += [w["does"] for w in _words("actions").values()]
    assert len(texts) == len(set(texts)) >= 181 + 154
    for text in texts:
        assert len(text) >= 40 and len(text.split()) >= 8, text
        assert "TODO" not in text and "amikit has no" not in text


def test_required_parameters_are_marked_in_text_and_html() -> None:
    exp = explain("Redirect")
    assert [n.name for n in exp.fields if n.required] == ["Channel", "Exten", "Context", "Priority"]
    assert "Channel*" in str(exp) and "(* required)" in str(exp)
    assert "required</span>" in exp._repr_html_()
    assert exp.section("Required parameters") == "Channel, Exten, Context, Priority"


def test_missing_classes_are_named_for_events_and_actions() -> None:
    hangup = explain("Hangup", read="system,agent")
    assert hangup.section("Missing class").startswith("call: the login's read classes")
    assert explain("Hangup", read="all").section("Missing class") is None
    assert explain("Hangup", read="call").section("Missing class") is None
    orig = explain("Originate", write="call,system")
    assert orig.section("Missing class").startswith("originate:")
    assert "Permission denied" in orig.section("Missing class")
    # Hangup the action needs call OR system: one of them is enough
    assert explain("Hangup", kind="action", write="system").section("Missing class") is None
    assert explain("Ping", write="").section("Missing class") is None


def test_event_lists_name_their_items_and_closing_event() -> None:
    returns = explain("PJSIPShowEndpoints").section("Returns")
    assert "EndpointList items" in returns and "EndpointListComplete" in returns
    assert "StatusComplete with Items" in explain("Status", kind="action").section("Returns")
    assert "QueueEntry" in explain("QueueStatus").section("Returns")


def test_channel_states_and_causes_are_listed_and_read_in_values() -> None:
    from amikit.jupyter import describe_state

    states = explain("ChannelState")
    assert states.kind == "field" and states.meaning("6").startswith("Up")
    causes = explain("Cause")
    assert causes.meaning("17").startswith("user busy") and len(causes.fields) >= 50
    assert describe_state(5).startswith("Ringing") and describe_state("up").startswith("Up")
    msg = Message.from_pairs(
        [("Event", "Newstate"), ("Channel", "PJSIP/1-1"), ("ChannelState", "5")]
    )
    assert "Here: Ringing" in explain(msg).meaning("ChannelState")
