"""The simulated PBX over a real socket: actions, read classes, live channel views."""

from __future__ import annotations

import pytest

from amikit.sim import PBX, User
from tests.sim._raw import RawAMI

USERS = [User("admin", "amikit"), User("watcher", "w", read="call", write="")]


@pytest.fixture
def pbx():
    with PBX(users=USERS, calls_per_minute=0, seed=11, speed=4.0) as running:
        yield running


@pytest.fixture
def ami(pbx):
    client = RawAMI(pbx.host, pbx.port)
    assert client.login()["Response"] == "Success"
    client.pbx = pbx
    yield client
    client.close()


def _last_hangup_of(ami: RawAMI, linkedid: str, channels: int) -> None:
    seen: set[str] = set()

    def done(f):
        if f.get("Event") == "Hangup" and f.get("Linkedid") == linkedid:
            seen.add(f["Uniqueid"])
        return len(seen) >= channels

    ami.wait_for(done, timeout=20)


def test_plain_socket_client_logs_in_originates_and_sees_the_call(pbx):
    # an independent client: a socket and hand-written protocol lines
    client = RawAMI(pbx.host, pbx.port)
    assert client.banner == "Asterisk Call Manager/11.0.0"
    client.send("Action: Login\nUsername: admin\nSecret: amikit\nActionID: a1\n")
    assert client.response("a1")["Message"] == "Authentication accepted"
    client.send(
        "Action: Originate\nChannel: Local/200@internal\nContext: caller\nExten: talk\n"
        "Priority: 1\nCallerID: Plain Socket <5551234>\nAsync: true\nActionID: o1\n"
    )
    assert client.response("o1")["Response"] == "Success"
    result = client.wait_for(lambda f: f.get("Event") == "OriginateResponse")
    assert result["ActionID"] == "o1" and result["Response"] == "Success"
    assert result["CallerIDNum"] == "5551234" and result["CallerIDName"] == "Plain Socket"
    assert (result["Context"], result["Exten"]) == ("caller", "talk")
    linkedid = result["Uniqueid"]
    _last_hangup_of(client, linkedid, 4)
    names = [f["Event"] for f in client.events() if f.get("Linkedid") == linkedid]
    for expected in ("Newchannel", "DialBegin", "DialEnd", "BridgeEnter", "Hangup"):
        assert expected in names
    client.send("Action: Logoff\nActionID: bye\n")
    assert client.response("bye")["Response"] == "Goodbye"
    client.close()


def test_sync_originate_answers_after_the_call_is_answered(ami):
    ami.action("Originate", "s1", Channel="Local/200@internal", Exten="talk", Context="caller")
    reply = ami.response("s1")
    assert reply["Response"] == "Success"
    # the call's events came before the response: it waited for the answer
    assert any(f.get("Event") == "DialEnd" for f in ami.frames)
    # a sync originate gets no OriginateResponse event
    assert not ami.events("OriginateResponse")


@pytest.mark.parametrize(
    ("exten", "reason"), [("500", "5"), ("502", "8"), ("503", "0"), ("999", "0")]
)
def test_failed_originates(ami, exten, reason):
    ami.action("Originate", "f1", Channel=f"Local/{exten}@internal", Exten="talk")
    assert ami.response("f1") == {
        "Response": "Error",
        "ActionID": "f1",
        "Message": "Originate failed",
    }
    ami.action("Originate", "f2", Channel=f"Local/{exten}@internal", Exten="talk", Async="yes")
    assert ami.response("f2")["Response"] == "Success"
    event = ami.wait_for(lambda f: f.get("Event") == "OriginateResponse")
    assert (event["ActionID"], event["Response"], event["Reason"]) == ("f2", "Failure", reason)


def test_hangup_action_ends_a_live_call_with_the_proper_events(ami):
    ami.action("Originate", "o", Channel="Local/200@internal", Exten="talk", Async="1")
    linkedid = ami.wait_for(lambda f: f.get("Event") == "OriginateResponse")["Uniqueid"]
    ami.wait_for(lambda f: f.get("Event") == "BridgeEnter")
    channels = {f["Channel"] for f in ami.events("Newchannel")}
    target = next(c for c in channels if c.startswith("Local/100@internal") and c.endswith(";2"))
    ami.action("Hangup", "h", Channel=target, Cause="16")
    reply = ami.response("h")
    assert reply["Message"] == "Channel Hungup"
    _last_hangup_of(ami, linkedid, 4)
    after = ami.frames[ami.frames.index(reply) :]
    names = [
        f.get("Event")
        for f in after
        if f.get("Linkedid") == linkedid or "Bridge" in str(f.get("Event"))
    ]
    assert names[0] == "SoftHangupRequest"
    assert "BridgeLeave" in names and "BridgeDestroy" in names
    for leave in (f for f in after if f.get("Event") == "BridgeLeave"):
        gone = next(
            f for f in after if f.get("Event") == "Hangup" and f["Channel"] == leave["Channel"]
        )
        assert after.index(leave) < after.index(gone)
    assert names.index("BridgeDestroy") > max(i for i, n in enumerate(names) if n == "BridgeLeave")
    hung = [f for f in after if f.get("Event") == "Hangup"]
    assert {f["Channel"] for f in hung} == channels
    assert all(f["Cause"] == "16" and f["Cause-txt"] == "Normal Clearing" for f in hung)
    # nothing of that call is live any more
    ami.action("CoreShowChannels", "c")
    listing = ami.event_list("c")
    assert listing[-1]["ListItems"] == "0"
    ami.action("Hangup", "h2", Channel=target)
    assert ami.response("h2") == {
        "Response": "Error",
        "ActionID": "h2",
        "Message": "No such channel",
    }


def ami_pbx_channels(ami):
    return ami.pbx.channels()


def test_core_show_channels_status_and_cli_reflect_live_channels(ami):
    ami.action("Originate", "o", Channel="Local/200@internal", Exten="talk", Async="1")
    ami.wait_for(lambda f: f.get("Event") == "BridgeEnter")
    live = {f["Channel"] for f in ami.events("Newchannel")} - {
        f["Channel"] for f in ami.events("Hangup")
    }
    ami.action("CoreShowChannels", "c")
    listing = ami.event_list("c")
    assert listing[0]["Message"] == "Channels will follow"
    items = [f for f in listing[1:-1]]
    assert {f["Channel"] for f in items} == live
    assert all(f["Event"] == "CoreShowChannel" for f in items)
    assert listing[-1]["ListItems"] == str(len(items))
    for f in items:
        for key in ("Uniqueid", "Linkedid", "BridgeId", "Application", "Duration"):
            assert key in f
    assert {row["Channel"] for row in ami_pbx_channels(ami)} == live
    ami.action("Status", "s")
    status = ami.event_list("s")
    assert {f["Channel"] for f in status[1:-1]} == live
    assert status[-1]["Event"] == "StatusComplete"
    ami.action("Command", "cli", Command="core show channels")
    text = ami.response("cli")["Output"]
    assert all(name in text for name in live)
    assert f"{len(live)} active channels" in text
    ami.action("Command", "ver", Command="core show version")
    assert ami.response("ver")["Output"].startswith("Asterisk 22.")
    ami.action("CoreStatus", "cs")
    assert ami.response("cs")["CoreCurrentCalls"] == "1"


def test_queue_status_lists_queues_members_and_waiting_callers(ami):
    ami.action("Originate", "o", Channel="Local/300@internal", Exten="talk", Async="1")
    join = ami.wait_for(lambda f: f.get("Event") == "QueueCallerJoin")
    ami.action("QueueStatus", "q")
    listing = ami.event_list("q")
    events = [f["Event"] for f in listing[1:-1]]
    assert events.count("QueueParams") == 2
    assert events.count("QueueMember") == 4
    entries = [f for f in listing if f.get("Event") == "QueueEntry"]
    if not any(f.get("Event") == "QueueCallerLeave" for f in ami.frames):
        assert [e["Channel"] for e in entries] == [join["Channel"]]
    ami.action("QueueStatus", "q2", Queue="sales")
    assert [f["Queue"] for f in ami.event_list("q2")[1:-1]] == ["sales", "sales"]


def test_read_call_user_gets_no_dialplan_noise(pbx, ami):
    watcher = RawAMI(pbx.host, pbx.port)
    assert watcher.login("watcher", "w")["Response"] == "Success"
    ami.action("Originate", "o", Channel="Local/600@internal", Exten="talk", Async="1")
    linkedid = ami.wait_for(lambda f: f.get("Event") == "OriginateResponse")["Uniqueid"]
    _last_hangup_of(ami, linkedid, 2)
    _last_hangup_of(watcher, linkedid, 2)
    admin_names = {f["Event"] for f in ami.events()}
    watcher_events = watcher.events()
    assert {"VarSet", "Newexten", "UserEvent"} <= admin_names
    assert not {"VarSet", "Newexten"} & {f["Event"] for f in watcher_events}
    # everything the watcher got is of class call (as real Asterisk labels it)
    assert all("call" in f["Privilege"].split(",") for f in watcher_events if "Privilege" in f)
    assert "UserEvent" not in {f["Event"] for f in watcher_events}  # class user
    # an action the watcher may not write
    watcher.action("Originate", "no", Channel="Local/200@internal", Exten="talk")
    assert watcher.response("no")["Message"] == "Permission denied"
    watcher.close()


def test_generic_actions(ami):
    ami.action("Ping", "p")
    assert ami.response("p")["Ping"] == "Pong"
    ami.action("CoreSettings", "cs")
    assert "AsteriskVersion" in ami.response("cs")
    ami.action("UserEvent", "u", UserEvent="Hello", Foo="bar")
    event = ami.wait_for(lambda f: f.get("Event") == "UserEvent")
    assert event["UserEvent"] == "Hello" and event["Foo"] == "bar"
    ami.action("Filter", "f", Filter="Event: Hangup")
    filtered = ami.response("f")
    assert filtered["Response"] == "Success"
    ami.action("Originate", "o", Channel="Local/500@internal", Exten="talk", Async="1")
    ami.action("Ping", "p2")
    ami.response("p2")
    ami.wait_for(lambda f: f.get("Event") == "Hangup")
    ami.action("Ping", "p3")
    ami.response("p3")
    assert {f["Event"] for f in ami.frames[ami.frames.index(filtered) :] if "Event" in f} == {
        "HangupRequest",  # a regex filter matches a prefix, as in Asterisk
        "Hangup",
    }


def test_events_off_stops_events(ami):
    ami.action("Events", "e", EventMask="off")
    off = ami.response("e")
    assert off["Events"] == "Off"
    ami.action("Originate", "o", Channel="Local/500@internal", Exten="talk")
    assert ami.response("o")["Response"] == "Error"
    ami.action("Ping", "p")
    ami.response("p")
    start = ami.frames.index(off)
    assert not [f for f in ami.frames[start:] if "Event" in f]


def test_flood_mode_streams_complete_frames_without_waiting_for_the_clock():
    with PBX(calls_per_minute=600, seed=5, flood=True) as pbx:
        client = RawAMI(pbx.host, pbx.port)
        client.login()
        count = [0]

        def many(frame):
            count[0] += "Event" in frame
            return count[0] >= 5000

        client.wait_for(many, timeout=60)
        client.close()
    stamps = [float(f["Timestamp"]) for f in client.frames if "Timestamp" in f and "Event" in f]
    # thousands of events covering seconds of simulated time (~50 calls), in time order
    assert stamps[-1] - stamps[0] > 3
    assert stamps == sorted(stamps)
    assert all(
        f.get("Privilege") for f in client.frames if f.get("Event") not in (None, "FullyBooted")
    )


def test_hangup_with_a_cause_and_by_regex(ami):
    ami.action("Originate", "o", Channel="Local/1300@internal", Exten="s", Context="x", Async="1")
    ami.wait_for(lambda f: f.get("Event") == "DialState")
    first = ami.wait_for(lambda f: f.get("Event") == "Newchannel")["Channel"]
    ami.action("Hangup", "h", Channel=first, Cause="21")
    assert ami.response("h")["Response"] == "Success"
    gone = ami.wait_for(lambda f: f.get("Event") == "Hangup" and f["Channel"] == first)
    assert (gone["Cause"], gone["Cause-txt"]) == ("21", "Call Rejected")
    cancel = ami.wait_for(lambda f: f.get("Event") == "DialEnd" and f.get("Channel"))
    assert cancel["DialStatus"] == "CANCEL"
    ami.action("Originate", "o2", Channel="Local/200@internal", Exten="talk", Async="1")
    ami.wait_for(lambda f: f.get("Event") == "BridgeEnter")
    ami.action("Hangup", "h2", Channel="/^Local/(200|100)@/")
    assert ami.response("h2")["Message"].endswith("channels hung up.")
    ami.action("CoreShowChannels", "c")
    assert ami.event_list("c")[-1]["ListItems"] == "0"


def test_async_originate_without_action_id_gets_a_response_event_without_one(ami):
    ami.send("Action: Originate\nChannel: Local/100@internal\nExten: talk\nAsync: yes\n")
    event = ami.wait_for(lambda f: f.get("Event") == "OriginateResponse")
    assert "ActionID" not in event and event["Response"] == "Success"


def test_restart_is_a_new_run_of_the_pbx():
    """Restart as Asterisk does: links drop, live channels vanish, counters and the startup
    time start again."""
    with PBX(users=USERS, calls_per_minute=0, seed=5, speed=10.0) as pbx:
        before = RawAMI(pbx.host, pbx.port)
        assert before.login()["Response"] == "Success"
        before.action("CoreStatus", "c1")
        first_start = before.response("c1")["CoreStartupTime"]
        pbx.call("hold")  # a long call: still up when the PBX restarts
        up = before.wait_for(lambda f: f.get("Event") == "Newchannel")
        assert up["Uniqueid"].endswith(".0") and up["Channel"].endswith("-00000000;1")
        # answered: more than a simulated second has passed since the PBX started
        before.wait_for(lambda f: f.get("Event") == "BridgeEnter")
        assert pbx.channels()
        pbx.restart()
        with pytest.raises(ConnectionError):  # the old link is gone
            before.wait_for(lambda f: False, timeout=5)
        before.close()
        assert pbx.channels() == []  # the old run's channels died with it, unseen
        after = RawAMI(pbx.host, pbx.port)
        assert after.login()["Response"] == "Success"
        booted = after.wait_for(lambda f: f.get("Event") == "FullyBooted")
        assert booted["Uptime"] == "0"
        after.action("CoreStatus", "c2")
        status = after.response("c2")
        assert status["CoreStartupTime"] != first_start
        assert status["CoreCurrentCalls"] == "0"
        pbx.call("hold")
        again = after.wait_for(lambda f: f.get("Event") == "Newchannel")
        # Uniqueid and Local counters count from 0 again: the same names as before
        assert again["Uniqueid"].endswith(".0") and again["Channel"] == up["Channel"]
        after.close()
