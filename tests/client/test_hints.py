"""Hints before and after the PBX says no, against a real AMIServer on 127.0.0.1:0."""

from __future__ import annotations

import asyncio
import warnings

import pytest

from amikit import ActionError, AMIClient
from amikit.client import AmiHint, MissingParameterError
from amikit.sim import AMIServer, User

from .conftest import USERS

ORIGINATE_ONLY_CALL = User("caller", "c4ll-only-pw", read="call", write="call")


@pytest.fixture
def recording_server() -> AMIServer:
    """A server whose Originate answers Success and remembers every Originate it read."""
    received: list = []
    with AMIServer([*USERS, ORIGINATE_ONLY_CALL]) as srv:

        def originate(session, msg):
            received.append(msg)
            return [[("Response", "Success"), ("Message", "Originate successfully queued")]]

        srv.register_action("Originate", originate, privilege="originate")
        srv.received = received  # type: ignore[attr-defined]
        yield srv


def test_misspelt_parameter_warns_with_the_closest_name_and_is_still_sent(
    recording_server: AMIServer,
) -> None:
    with AMIClient("127.0.0.1", recording_server.port, "admin", "amikit") as c:
        with pytest.warns(AmiHint, match=r"'Chanel'; did you mean Channel\?"):
            resp = c.action("Originate", Channel="PJSIP/6001", Chanel="PJSIP/6001", Exten="6002")
        assert resp["Response"] == "Success"
    sent = recording_server.received  # type: ignore[attr-defined]
    assert len(sent) == 1 and sent[0]["Chanel"] == "PJSIP/6001"


def test_documented_headers_in_any_case_and_numbered_families_do_not_warn(
    server: AMIServer,
) -> None:
    with AMIClient("127.0.0.1", server.port, "admin", "amikit") as c, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert c.action("CoreShowChannels", actionid="mine-1").action_id == "mine-1"
        # UserEvent passes any header through (HeaderN): nothing to warn about.
        c.action("UserEvent", UserEvent="Tick", Anything="goes")
        # Undocumented (custom) actions are never checked before sending.
        c.action("MyModuleAction", Whatever="x", raise_on_error=False)


def test_missing_required_parameter_raises_before_anything_is_sent(
    recording_server: AMIServer,
) -> None:
    with AMIClient("127.0.0.1", recording_server.port, "admin", "amikit") as c:
        with pytest.raises(MissingParameterError) as info:
            c.action("Originate", Exten="6002", Context="default")
        assert info.value.missing == ("Channel",) and info.value.action == "Originate"
        assert "check=False" in str(info.value)
        assert recording_server.received == []  # type: ignore[attr-defined]
        # The opt-out sends it as written (a newer Asterisk may accept it).
        resp = c.action("Originate", Exten="6002", check=False)
        assert resp["Response"] == "Success"
    assert [m["Exten"] for m in recording_server.received] == ["6002"]  # type: ignore[attr-defined]


def test_unknown_action_error_suggests_the_closest_documented_action(server: AMIServer) -> None:
    with AMIClient("127.0.0.1", server.port, "admin", "amikit") as c:
        with pytest.raises(ActionError) as info:
            c.action("Orignate", Channel="PJSIP/6001")
        assert info.value.message.startswith("Invalid/unknown command: Orignate")
        assert "did you mean Originate" in str(info.value)
        assert "Originate" in info.value.hint  # type: ignore[attr-defined]
        # Asked for the error response instead: the same hint comes as a warning.
        with pytest.warns(AmiHint, match="did you mean CoreShowChannels"):
            resp = c.action("CoreShowChanels", raise_on_error=False)
        assert resp["Response"] == "Error"


def test_permission_denied_names_the_missing_write_class(recording_server: AMIServer) -> None:
    port = recording_server.port
    with AMIClient("127.0.0.1", port, "caller", "c4ll-only-pw", events="call") as c:
        with pytest.raises(ActionError) as info:
            c.action("Originate", Channel="PJSIP/6001", Exten="6002")
        assert info.value.message == "Permission denied"
        assert "Originate needs write class originate" in str(info.value)
        assert "c4ll-only-pw" not in str(info.value)


def test_async_face_gives_the_same_hints(recording_server: AMIServer) -> None:
    async def main() -> None:
        async with AMIClient("127.0.0.1", recording_server.port, "admin", "amikit") as c:
            with pytest.raises(MissingParameterError):
                await c.aaction("Originate")
            with pytest.warns(AmiHint, match="did you mean Channel"):
                await c.aaction("Originate", Channel="Local/1@x", Chanel="x")
            with pytest.raises(ActionError, match="did you mean Originate"):
                await c.aaction("Originat", Channel="x", check=False)

    asyncio.run(main())


def test_documented_action_the_server_lacks_points_at_the_module(server: AMIServer) -> None:
    lacking = r"QueueStatus is a documented Asterisk action \(apps/app_queue.c\) that this server"
    client = AMIClient("127.0.0.1", server.port, "admin", "amikit")
    with client as c, pytest.raises(ActionError, match=lacking):
        c.action("QueueStatus")
