"""Actions: correlation under concurrency, event lists, Command dialects, errors, timeouts."""

from __future__ import annotations

import ast
import asyncio
import inspect
import logging
import random
import signal
import textwrap
import threading

import pytest

from amikit import ActionError, AMIClient, AmiTimeout, UsageError
from amikit.client import ActionResponse
from amikit.sim import AMIServer
from amikit.sim._builtin_actions import core_show_channels

from .conftest import USERS, Recorder, portal_tasks, wait_until


def _echo_server(server: AMIServer) -> None:
    async def echo(session, msg):
        await asyncio.sleep(random.random() * 0.01)  # reorder the replies
        return [[("Response", "Success"), ("Value", msg.get("Value") or "")]]

    server.register_action("Echo", echo)


def test_200_concurrent_actions_from_threads_and_tasks(server: AMIServer) -> None:
    _echo_server(server)
    with AMIClient("127.0.0.1", server.port, "admin", "amikit") as c:
        results: dict[str, str] = {}
        errors: list[BaseException] = []

        def worker(start: int) -> None:
            try:
                for i in range(start, start + 20):
                    results[f"t{i}"] = c.action("Echo", Value=f"t{i}")["Value"]
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k * 20,)) for k in range(5)]
        for t in threads:
            t.start()

        async def tasks() -> list[str]:
            return [
                r["Value"]
                for r in await asyncio.gather(
                    *(c.aaction("Echo", Value=f"a{i}") for i in range(100))
                )
            ]

        async_values = asyncio.run(tasks())
        for t in threads:
            t.join(30)
        assert not errors
        assert results == {f"t{i}": f"t{i}" for i in range(100)}
        assert async_values == [f"a{i}" for i in range(100)]
        assert c.stats.unmatched == 0


def test_user_action_id_is_preserved(client: AMIClient) -> None:
    resp = client.action("Ping", ActionID="my-own-id-42")
    assert resp.action_id == "my-own-id-42"


def test_event_list_is_completed_by_its_terminator(server: AMIServer, client: AMIClient) -> None:
    server.channels = [
        [("Channel", f"PJSIP/{n}-0000000{n}"), ("Uniqueid", f"1700000000.{n}")] for n in range(3)
    ]
    # an unrelated event interleaved in the list must not end it or be taken as an item
    original = core_show_channels

    def with_noise(session, msg):
        frames = original(session, msg)
        # bytes frames are sent as they are (no ActionID added): an unrelated event
        frames.insert(2, b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: X/1\r\n\r\n")
        return frames

    server.register_action("CoreShowChannels", with_noise, privilege="system,reporting")
    resp = client.action("CoreShowChannels")
    assert isinstance(resp, ActionResponse)
    assert resp["EventList"] == "start"
    assert [e["Channel"] for e in resp.events] == [f"PJSIP/{n}-0000000{n}" for n in range(3)]
    assert resp.list_end is not None and resp.list_end["ListItems"] == "3"
    assert resp.list_end.is_list_end
    assert all(e["ActionID"] == resp.action_id for e in resp.events)


def test_empty_event_list(client: AMIClient) -> None:
    resp = client.action("CoreShowChannels")
    assert resp.events == [] and resp.list_end["ListItems"] == "0"


@pytest.mark.parametrize("dialect", ["new", "old"])
def test_command_both_dialects(dialect: str) -> None:
    with AMIServer(USERS, command_dialect=dialect) as srv:
        srv.channels = [[("Channel", "PJSIP/100-1"), ("Exten", "100"), ("Context", "from")]]
        with AMIClient("127.0.0.1", srv.port, "admin", "amikit") as c:
            assert c.command("core show version") == (
                "Asterisk 22.0.0 built by amikit-sim on a loopback"
            )
            text = c.command("core show channels")
            lines = text.split("\n")
            assert lines[0].startswith("Channel")
            assert lines[1].startswith("PJSIP/100-1")
            assert lines[-3:] == ["1 active channel", "1 active call", "0 calls processed"]


def test_action_error_and_raise_on_error(client: AMIClient) -> None:
    with pytest.raises(ActionError, match="Invalid/unknown command: NoSuchAction"):
        client.action("NoSuchAction")
    resp = client.action("NoSuchAction", raise_on_error=False)
    assert resp["Response"] == "Error"


def test_filters_and_event_mask(server: AMIServer, client: AMIClient) -> None:
    got = Recorder()
    client.on("UserEvent", got)
    client.add_filter(
        match_criteria="action(exclude),name(UserEvent),header(UserEvent),method(starts_with)",
        value="Drop",
    )
    with pytest.raises(ActionError, match="did not compile"):
        client.add_filter("Event: (")
    for name in ("Keep1", "DropMe", "Keep2"):
        server.broadcast([("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", name)])
    assert got.wait_count(2)
    client.set_event_mask("call")  # user events are not in the mask any more
    server.broadcast([("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", "Keep3")])
    client.set_event_mask(True)
    server.broadcast([("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", "Keep4")])
    assert got.wait_count(3)
    assert [m["UserEvent"] for m in got.items] == ["Keep1", "Keep2", "Keep4"]


def test_timeout_raises_and_cancels(server: AMIServer, client: AMIClient) -> None:
    started = threading.Event()

    async def never(session, msg):
        started.set()
        await asyncio.sleep(3600)

    server.register_action("Never", never)
    with pytest.raises(AmiTimeout, match=r"Never: no response within 0\.2 s"):
        client.action("Never", timeout=0.2)
    assert started.is_set()
    assert client._engine.conn.pending == {}  # nothing left waiting
    assert client.ping()["Ping"] == "Pong"  # still usable

    async def run() -> None:
        with pytest.raises(AmiTimeout):
            await client.aaction("Never", timeout=0.2)
        # cancelling the caller's task cancels the action on the amikit loop too
        task = asyncio.ensure_future(client.aaction("Never", timeout=30))
        await asyncio.sleep(0)  # let the task start
        for _ in range(100):
            if client._engine.conn.pending:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert wait_until(lambda: client._engine.conn.pending == {})


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_keyboard_interrupt_cancels_a_sync_call(server: AMIServer, client: AMIClient) -> None:
    """A real SIGINT while the main thread waits in action(): the action is cancelled."""
    arrived = threading.Event()

    async def slow(session, msg):
        arrived.set()
        await asyncio.sleep(3600)

    server.register_action("Slow", slow)
    # other tests' clients share the loop: only tasks that appear during this call count
    before = set(portal_tasks())
    main_ident = threading.main_thread().ident
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:

        def interrupt() -> None:
            arrived.wait(5)
            signal.pthread_kill(main_ident, signal.SIGINT)

        killer = threading.Thread(target=interrupt)
        killer.start()
        with pytest.raises(KeyboardInterrupt):
            client.action("Slow", timeout=30)
        killer.join(5)
    finally:
        signal.signal(signal.SIGINT, old)
    assert arrived.is_set()
    assert wait_until(lambda: client._engine.conn.pending == {})
    assert client.ping()["Ping"] == "Pong"
    assert wait_until(
        lambda: (
            [t for t in portal_tasks() if t not in before and "action" in repr(t.get_coro())] == []
        )
    )


def test_sync_call_on_the_loop_thread_raises_usage_error(
    server: AMIServer, client: AMIClient
) -> None:
    outcome = Recorder()

    def callback(msg) -> None:
        try:
            client.ping()
        except UsageError as exc:
            outcome(exc)

    client.on("UserEvent", callback, thread="loop")
    server.broadcast([("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", "x")])
    assert outcome.wait_count(1)
    assert "deadlock" in str(outcome.items[0])


def test_not_connected_and_closed_usage_errors(server: AMIServer) -> None:
    c = AMIClient("127.0.0.1", server.port, "admin", "amikit")
    with pytest.raises(UsageError, match="connect"):
        c.action("Ping")
    c.connect()
    c.close()
    with pytest.raises(UsageError, match="closed"):
        c.action("Ping")
    c.close()  # twice is fine


def test_sync_and_async_twins_have_the_same_signatures() -> None:
    pairs = [
        ("connect", "aconnect"),
        ("close", "aclose"),
        ("action", "aaction"),
        ("command", "acommand"),
        ("ping", "aping"),
        ("set_event_mask", "aset_event_mask"),
        ("add_filter", "aadd_filter"),
        ("events", "aevents"),
        ("__enter__", "__aenter__"),
        ("__exit__", "__aexit__"),
    ]
    for sync_name, async_name in pairs:
        sync = inspect.signature(getattr(AMIClient, sync_name))
        twin = inspect.signature(getattr(AMIClient, async_name))
        assert list(sync.parameters.values()) == list(twin.parameters.values()), sync_name
        if sync_name not in ("events",):
            assert inspect.iscoroutinefunction(getattr(AMIClient, async_name))
    public = {n for n in dir(AMIClient) if not n.startswith("_")}
    for name in public:
        if name.startswith("a") and name[1:] in public:
            assert (name[1:], name) in pairs


def _engine_calls(method: object) -> list[str]:
    """The ``self._engine.X(...)`` calls in a method's body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(method)))  # type: ignore[arg-type]
    return [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and ast.unparse(node.func.value) == "self._engine"
    ]


def test_each_twin_pair_forwards_to_one_and_the_same_engine_coroutine() -> None:
    # The deadline, the kept state (event mask, filters) and the error mapping live in the
    # engine: a face that did any of it itself would need more than this one call.
    for sync_name, method in [
        ("connect", "connect"),
        ("action", "action"),
        ("set_event_mask", "set_event_mask"),
        ("add_filter", "add_filter"),
    ]:
        assert _engine_calls(getattr(AMIClient, sync_name)) == [method], sync_name
        assert _engine_calls(getattr(AMIClient, "a" + sync_name)) == [method], sync_name


def test_event_mask_and_filters_are_kept_by_the_engine(client: AMIClient) -> None:
    client.set_event_mask("call,system")
    client.add_filter("Event: Hangup")
    assert client._engine.event_mask == "call,system"
    assert client._engine.filters == [[("Operation", "Add"), ("Filter", "Event: Hangup")]]


def test_secrets_never_shown(server: AMIServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "amikit"
    c = AMIClient("127.0.0.1", server.port, "admin", secret, auth="plain")
    c.connect()
    texts = [repr(c), str(c), repr(c._engine.config), repr(c.stats)]
    server.drop_connections()  # log lines on loss and reconnect
    c.close()
    texts.append(caplog.text)
    for text in texts:
        assert f"Secret: {secret}" not in text and f"secret={secret!r}" not in text
        assert "'amikit'" not in text


def test_aclose_with_a_stuck_worker_callback_returns_as_close_does(server: AMIServer) -> None:
    from .conftest import user_event

    c = AMIClient("127.0.0.1", server.port, "admin", "amikit", timeout=5.0)
    c.connect()
    entered, release = threading.Event(), threading.Event()

    def stuck(msg) -> None:
        entered.set()
        release.wait(10)

    sub = c.on("UserEvent", stuck, thread="caller")  # no loop here: a worker thread
    server.broadcast(user_event())
    assert entered.wait(5)
    try:
        asyncio.run(c.aclose(timeout=0.3))  # no bare TimeoutError from the engine's edge
        assert c.closed
    finally:
        release.set()
    assert sub.join(5)
