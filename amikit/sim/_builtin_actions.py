"""The test server's built-in actions, as Asterisk's ``manager.c`` answers them.

Strategy
--------
Each built-in is an ordinary action handler, ``handler(session, msg)``, of the kind
:meth:`~amikit.sim.AMIServer.register_action` takes: it reads the server through
``session.server`` and returns the reply frames (or sends them itself, for ``Login`` and
``Logoff``, which must answer before they change the connection). :data:`BUILTIN_ACTIONS`
is what a new :class:`~amikit.sim.AMIServer` registers, each with the write classes that
allow it; the simulated PBX replaces some of them (``CoreShowChannels``, ``CoreStatus``)
with handlers that know its calls.

* ``Login`` (plain ``Secret`` or ``AuthType: MD5`` + ``Key``), ``Challenge``, ``Logoff``;
  a refused login answers ``Authentication failed`` and closes the connection;
* ``Ping``, ``CoreStatus``, ``CoreSettings``;
* ``Events`` (event mask) and ``Filter`` (see :mod:`amikit.sim._filters`);
* ``Command`` in either dialect (the server's ``command_dialect``: ``"new"`` answers with
  ``Output:`` headers as Asterisk >= 14, ``"old"`` with ``Response: Follows`` ...
  ``--END COMMAND--`` as Asterisk <= 13), over the server's ``commands`` table
  (:func:`builtin_commands` fills it);
* ``CoreShowChannels`` (an event list over the server's ``channels``) and ``UserEvent``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..protocol import Message, encode_message, login_key
from ._filters import build_filter, event_mask, parse_classes

if TYPE_CHECKING:
    from ._server import ActionHandler, AMIServer, Frame, ServerSession, User

__all__ = [
    "BUILTIN_ACTIONS",
    "PRE_AUTH",
    "builtin_commands",
    "core_status_reply",
    "error_reply",
]

#: Actions a session may send before it has logged in (lower case).
PRE_AUTH = frozenset({"login", "challenge", "logoff"})


def error_reply(message: str) -> list[Frame]:
    """The one-frame ``Response: Error`` reply with ``message``."""
    return [[("Response", "Error"), ("Message", message)]]


def _logged_in(session: ServerSession, user: User, msg: Message) -> list[Frame]:
    session.username = user.name
    session.read = parse_classes(user.read)
    session.write = parse_classes(user.write)
    session.authenticated = True
    events = msg.get("Events")
    if events is not None:
        session.event_mask = event_mask(events)
    return [[("Response", "Success"), ("Message", "Authentication accepted")]]


async def login(session: ServerSession, msg: Message) -> list[Frame] | None:
    server = session.server
    if session.authenticated:
        return [[("Response", "Success"), ("Message", "Already authenticated")]]
    server.login_attempts += 1
    user = server.users.get(msg.get("Username") or "")
    ok = False
    if user is not None:
        if (msg.get("AuthType") or "").lower() == "md5":
            key = msg.get("Key") or ""
            if session.challenge:
                want = login_key(session.challenge, user.secret)
                ok = key.lower() == want
        else:
            ok = (msg.get("Secret") or "") == user.secret
    if not ok or user is None:
        session.reply(msg.action_id, error_reply("Authentication failed"))
        await session.close()
        return None
    session.reply(msg.action_id, _logged_in(session, user, msg))
    for hook in server._login_hooks:
        hook(session)
    if "system" in session.read and "system" in session.event_mask:
        session.send(
            encode_message(
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Uptime", str(int(time.time() - server._started_at))),
                    ("LastReload", str(int(time.time() - server._reloaded_at))),
                    ("Status", "Fully Booted"),
                ]
            )
        )
    return None


def challenge(session: ServerSession, msg: Message) -> list[Frame]:
    if (msg.get("AuthType") or "").lower() != "md5":
        return error_reply("Must specify AuthType")
    session.challenge = str(random.randrange(10**8, 10**9))
    return [[("Response", "Success"), ("Challenge", session.challenge)]]


async def logoff(session: ServerSession, msg: Message) -> None:
    session.reply(
        msg.action_id,
        [[("Response", "Goodbye"), ("Message", "Thanks for all the fish.")]],
    )
    await session.close()


def ping(session: ServerSession, msg: Message) -> list[Frame]:
    return [[("Response", "Success"), ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")]]


def events(session: ServerSession, msg: Message) -> list[Frame]:
    mask = msg.get("EventMask")
    if mask is None:
        return error_reply("Missing EventMask")
    try:
        session.event_mask = event_mask(mask)
    except ValueError as exc:
        return error_reply(str(exc))
    return [[("Response", "Success"), ("Events", "On" if session.event_mask else "Off")]]


def core_status_reply(
    started_at: float, reloaded_at: float, current_calls: int, processed_calls: int
) -> list[Frame]:
    """The ``CoreStatus`` reply (times in epoch seconds, shown in UTC as Asterisk's are)."""
    start = time.gmtime(started_at)
    reload = time.gmtime(reloaded_at)
    return [
        [
            ("Response", "Success"),
            ("Message", "Core Status"),
            ("CoreStartupDate", time.strftime("%Y-%m-%d", start)),
            ("CoreStartupTime", time.strftime("%H:%M:%S", start)),
            ("CoreReloadDate", time.strftime("%Y-%m-%d", reload)),
            ("CoreReloadTime", time.strftime("%H:%M:%S", reload)),
            ("CoreCurrentCalls", str(current_calls)),
            ("CoreProcessedCalls", str(processed_calls)),
        ]
    ]


def core_status(session: ServerSession, msg: Message) -> list[Frame]:
    server = session.server
    return core_status_reply(
        server._started_at, server._reloaded_at, len(server.channels), server.calls_processed
    )


def core_settings(session: ServerSession, msg: Message) -> list[Frame]:
    server = session.server
    return [
        [
            ("Response", "Success"),
            ("AMIversion", server.banner.rsplit("/", 1)[-1]),
            ("AsteriskVersion", "22.0.0" if server.command_dialect == "new" else "13.38.3"),
            ("SystemName", "amikit-sim"),
            ("CoreMaxCalls", "0"),
            ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", "asterisk"),
            ("CoreRunGroup", "asterisk"),
            ("CoreMaxFilehandles", "0"),
            ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"),
        ]
    ]


def add_filter(session: ServerSession, msg: Message) -> list[Frame]:
    operation = (msg.get("Operation") or "Add").lower()
    if operation != "add":
        return error_reply(f"Unknown operation {msg.get('Operation')}")
    try:
        flt = build_filter(msg.get("Filter"), msg.get("MatchCriteria"))
    except ValueError as exc:
        return error_reply(str(exc))
    session.filters.append(flt)
    return [[("Response", "Success"), ("Message", "Success")]]


def command(session: ServerSession, msg: Message) -> list[Frame]:
    server = session.server
    text = (msg.get("Command") or "").strip()
    fn = server.commands.get(" ".join(text.split()).lower())
    ok = fn is not None
    output = (
        fn()
        if fn is not None
        else (
            f"No such command '{text}' (type 'core show help {text}' for other possible commands)"
        )
    )
    if server.command_dialect == "old":
        head = "Response: Follows\r\nPrivilege: Command\r\n"
        if msg.action_id is not None:
            head += f"ActionID: {msg.action_id}\r\n"
        body = output if output.endswith("\n") or not output else output + "\n"
        return [(head + body + "--END COMMAND--\r\n\r\n").encode()]  # type: ignore[list-item]
    lines = output.rstrip("\n").split("\n")
    return [
        [
            ("Response", "Success" if ok else "Error"),
            ("Message", "Command output follows"),
            *[("Output", line) for line in lines],
        ]
    ]


def core_show_channels(session: ServerSession, msg: Message) -> list[Frame]:
    channels = session.server.channels
    frames: list[Frame] = [
        [("Response", "Success"), ("EventList", "start"), ("Message", "Channels will follow")]
    ]
    for channel in channels:
        frames.append([("Event", "CoreShowChannel"), *channel])
    frames.append(
        [
            ("Event", "CoreShowChannelsComplete"),
            ("EventList", "Complete"),
            ("ListItems", str(len(channels))),
        ]
    )
    return frames  # the reply puts the ActionID second in every frame, as Asterisk does


def user_event(session: ServerSession, msg: Message) -> list[Frame]:
    name = msg.get("UserEvent")
    if not name:
        return error_reply("UserEvent needs a UserEvent header")
    pairs: list[tuple[str, Any]] = [("Event", "UserEvent"), ("Privilege", "user,all")]
    pairs.append(("UserEvent", name))
    pairs.extend(
        (k, v) for k, v in msg.items() if k.lower() not in ("action", "actionid", "userevent")
    )
    session.server.deliver(Message(encode_message(pairs)))
    return [[("Response", "Success")]]


#: What a new server answers: action name -> (handler, write classes that allow it, "" =
#: anyone logged in; the pre-login actions are let through before that check).
BUILTIN_ACTIONS: dict[str, tuple[ActionHandler, str]] = {
    "Login": (login, ""),
    "Challenge": (challenge, ""),
    "Logoff": (logoff, ""),
    "Ping": (ping, ""),
    "Events": (events, ""),
    "CoreStatus": (core_status, "system,reporting"),
    "CoreSettings": (core_settings, "system,reporting"),
    "Filter": (add_filter, "system"),
    "Command": (command, "command"),
    "CoreShowChannels": (core_show_channels, "system,reporting"),
    "UserEvent": (user_event, "user"),
}


def builtin_commands(server: AMIServer) -> dict[str, Callable[[], str]]:
    """The CLI commands a new server knows, for ``Command``: text -> output function."""

    def uptime() -> str:
        seconds = int(time.time() - server._started_at)
        return f"System uptime: {seconds} seconds\nLast reload: {seconds} seconds"

    def channels() -> str:
        rows = ["Channel              Location             State   Application(Data)"]
        for channel in server.channels:
            fields = dict(channel)
            rows.append(
                f"{fields.get('Channel', ''):<20} "
                f"{fields.get('Exten', '') + '@' + fields.get('Context', ''):<20} "
                f"{fields.get('ChannelStateDesc', ''):<7} {fields.get('Application', '')}"
            )
        n = len(server.channels)
        rows.append(f"{n} active channel{'s' if n != 1 else ''}")
        rows.append(f"{n} active call{'s' if n != 1 else ''}")
        rows.append(f"{server.calls_processed} calls processed")
        return "\n".join(rows)

    return {
        "core show version": lambda: "Asterisk 22.0.0 built by amikit-sim on a loopback",
        "core show uptime": uptime,
        "core show channels": channels,
    }
