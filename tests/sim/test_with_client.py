"""amikit's own client against the simulated PBX: the pairing the demo and notebooks use."""

from __future__ import annotations

import queue
import re

import pytest

from amikit import ActionError, AMIClient
from amikit.sim import PBX


@pytest.fixture
def pbx():
    with PBX(calls_per_minute=0, seed=21, speed=5.0) as running:
        yield running


def test_client_originates_and_follows_a_call_to_its_end(pbx):
    hangups: queue.Queue = queue.Queue()
    with AMIClient(pbx.host, pbx.port, "admin", "amikit") as client:
        client.on("Hangup", hangups.put, thread="loop")
        resp = client.action(
            "Originate", Channel="Local/220@internal", Exten="talk", Context="caller"
        )
        assert resp["Response"] == "Success"
        channels = client.action("CoreShowChannels").events
        assert channels and all(m.name == "CoreShowChannel" for m in channels)
        text = client.command("core show channels")
        # the call goes on between the two requests (a Local pair may be added), so the
        # CLI's count is the live one then, not necessarily the action's
        counted = re.search(r"^(\d+) active channels?$", text, re.MULTILINE)
        assert counted and int(counted[1]) >= 1, text
        linkedid = channels[0]["Linkedid"]
        gone = set()
        while len(gone) < 6:  # parallel ring: caller pair + two Local agent pairs
            msg = hangups.get(timeout=30)
            if msg["Linkedid"] == linkedid:
                gone.add(msg["Uniqueid"])
        assert client.action("CoreShowChannels").events == []
        status = client.action("QueueStatus", Queue="support")
        assert [m.name for m in status.events] == ["QueueParams"] + ["QueueMember"] * 3


def test_client_sees_errors_as_action_errors(pbx):
    with AMIClient(pbx.host, pbx.port, "admin", "amikit") as client:
        with pytest.raises(ActionError):
            client.action("Originate", Channel="Local/502@internal", Exten="talk")
        with pytest.raises(ActionError):
            client.action("Hangup", Channel="Local/nothing@internal-00000000;1")
