"""``%ami`` and ``%%ami``: drive a PBX (real or simulated) from notebook cells.

Load with ``%load_ext amikit``. Subcommands (``%ami?`` prints all of this)::

    %ami sim start [--calls-per-minute N] [--seed S] [--speed X]    the simulated PBX
    %ami sim stop
    %ami connect [HOST[:PORT]] [--user U] [--events MASK] [--as NAME]
    %ami action NAME key=value ...                                  one action
    %%ami [--no-check]                                              raw action block(s)
    %ami events [PATTERN] [--filter TEXT] [--rows N] [--show-noise] the live EventStream
    %ami calls                                                      the live CallBoard
    %ami timeline CALL_ID                                           the live CallLadder
    %ami record start PATH [--no-text] [--no-parquet]               record to PATH
    %ami record stop
    %ami status | %ami close
    %ami help NAME [event|action]                                   explain(NAME)

Tab completes action names and their parameters after ``%ami action``, event and action
names after ``%ami help``, and inside ``ami.action("...`` calls (``_complete``).

Conventions followed (docs/threading.md §5): one ``magic_arguments`` parser per subcommand,
dispatched on the first word, parsed with POSIX quoting (``shlex``) after a trailing
``# comment`` is cut off as a shell would (:func:`split_line`); ``@no_var_expand`` so
``$`` and ``{}`` in values are never expanded; objects made by a magic are put in the user
namespace (``ami`` for the client) rather than the caller's frame.

Secrets: ``%ami connect`` takes the secret from the environment (``AMI_SECRET``) or asks
with ``getpass``; it is never a magic argument, so it never reaches the notebook, its
history or its outputs. Connecting to the simulator started with ``%ami sim start`` uses
its demo user without asking.

The session keeps a bounded history of received events (``--history``, default 50,000), so
``%ami calls`` and ``%ami timeline`` start from what happened before the cell ran.
"""

from __future__ import annotations

import getpass
import os
import shlex
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from .._exceptions import AmiError
from ..protocol import Message

__all__ = [
    "AmiMagics",
    "load_ipython_extension",
    "parse_action_block",
    "parse_fields",
    "split_line",
]

DEFAULT_PORT = 5038


def split_line(line: str) -> list[str]:
    """The words of a magic line, POSIX-quoted, with a trailing ``# comment`` dropped.

    As in a shell, ``#`` starts a comment only at the start of a word outside quotes, so
    ``%ami connect  # real PBX: --user admin`` is just ``connect`` while ``Filter=a#b`` and
    ``"#5"`` stay values.
    """
    quote = ""
    escaped = False
    for i, char in enumerate(line):
        if escaped:  # the character after a backslash is never special
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            line = line[:i]
            break
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"%ami: {exc}") from exc


def parse_fields(tokens: list[str]) -> list[tuple[str, str]]:
    """``key=value`` tokens as ordered pairs (repeat a key to repeat the header)."""
    pairs: list[tuple[str, str]] = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"expected key=value, got {token!r}")
        pairs.append((key.strip(), value))
    return pairs


def parse_action_block(text: str) -> list[list[tuple[str, str]]]:
    """``Key: Value`` lines, actions separated by blank lines, ``#`` comments ignored."""
    actions: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            continue
        if not line:
            if current:
                actions.append(current)
                current = []
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise UsageError(f"expected 'Key: Value', got {line!r}")
        current.append((key.strip(), value.strip()))
    if current:
        actions.append(current)
    for action in actions:
        if action[0][0].lower() != "action":
            raise UsageError(f"an action block starts with 'Action: NAME', got {action[0][0]!r}")
    return actions


def _pairs_to_call(pairs: list[tuple[str, str]]) -> tuple[str, dict[str, Any]]:
    """(name, fields) for AMIClient.action: repeated keys become lists (repeated headers)."""
    name = pairs[0][1]
    fields: dict[str, Any] = {}
    for key, value in pairs[1:]:
        if key in fields:
            old = fields[key]
            fields[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            fields[key] = value
    return name, fields


# --- one parser per subcommand (magic_arguments has no sub-parsers) -----------------------


@magic_arguments(name="ami sim")
@argument("what", choices=["start", "stop", "status"], help="start or stop the simulated PBX")
@argument("--calls-per-minute", type=float, default=6.0, help="background call rate")
@argument("--seed", type=int, default=None, help="same seed, same calls")
@argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
def _sim(line: str) -> None:
    """%ami sim start|stop: the built-in simulated PBX on 127.0.0.1 (demo user admin)."""


@magic_arguments(name="ami connect")
@argument("address", nargs="?", default=None, help="HOST[:PORT]; default: the simulator")
@argument("--user", "-u", default=None, help="manager user (env AMI_USERNAME; default admin)")
@argument("--events", default="on", help="event mask at login: on, off or a class list")
@argument("--as", dest="name", default="ami", help="variable to bind the client to")
@argument("--history", type=int, default=50_000, help="events kept for calls/timeline")
def _connect(line: str) -> None:
    """%ami connect [HOST[:PORT]] [--user U]: log in; the secret comes from AMI_SECRET or a
    getpass prompt, never from the command line."""


@magic_arguments(name="ami action")
@argument("name", help="the action, e.g. Originate")
@argument("fields", nargs="*", help="key=value headers; repeat a key to repeat the header")
@argument("--timeout", type=float, default=None, help="seconds to wait for the response")
@argument("--no-check", action="store_true", help="send as written (a custom or newer action)")
def _action(line: str) -> None:
    """%ami action NAME key=value ...: send one action and show its response."""


@magic_arguments(name="ami events")
@argument("pattern", nargs="?", default="*", help="event names to follow, wildcards allowed")
@argument("--filter", "-f", default="", help="initial filter box text")
@argument("--rows", type=int, default=25, help="rows shown")
@argument("--show-noise", action="store_true", help="do not hide VarSet/Newexten/...")
def _events(line: str) -> None:
    """%ami events [PATTERN]: the live event table (EventStream)."""


@magic_arguments(name="ami calls")
@argument("--recent", type=int, default=10, help="finished calls listed")
def _calls(line: str) -> None:
    """%ami calls: the live call board (CallBoard), starting from the session history."""


@magic_arguments(name="ami timeline")
@argument("call_id", nargs="?", default=None, help="the call (Linkedid); default: newest")
def _timeline(line: str) -> None:
    """%ami timeline CALL_ID: the ladder of one call (CallLadder), growing while it runs."""


@magic_arguments(name="ami record")
@argument("what", choices=["start", "stop"], help="start or stop recording")
@argument("path", nargs="?", default=None, help="output folder (start)")
@argument("--no-text", action="store_true", help="no text log")
@argument("--no-parquet", action="store_true", help="no Parquet dataset")
def _record(line: str) -> None:
    """%ami record start PATH / %ami record stop: record the session to disk."""


_SUBCOMMANDS: dict[str, Callable[..., Any]] = {
    "sim": _sim,
    "connect": _connect,
    "action": _action,
    "events": _events,
    "calls": _calls,
    "timeline": _timeline,
    "record": _record,
}


def _parse(sub: str, args: list[str]) -> Any:
    func = _SUBCOMMANDS[sub]
    parser = func.parser  # type: ignore[attr-defined]
    try:
        return parser.parse_args(args)
    except SystemExit as exc:  # argparse exits on bad usage / --help
        raise UsageError(f"see %ami? for the usage of %ami {sub}") from exc


class _History:
    """The session's bounded event history, fed on the client's loop thread."""

    def __init__(self, maxlen: int) -> None:
        self.lock = threading.Lock()
        self.messages: deque[Message] = deque(maxlen=max(1, maxlen))

    def __call__(self, msg: Message) -> None:
        with self.lock:
            self.messages.append(msg)

    def snapshot(self) -> list[Message]:
        with self.lock:
            return list(self.messages)


@magics_class
class AmiMagics(Magics):
    """The ``%ami`` / ``%%ami`` magics. Holds the session: simulator, client, recorder."""

    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self.pbx: Any = None
        self.client: Any = None
        self.recorder: Any = None
        self.history: _History | None = None
        self._subscriptions: list[Any] = []
        self._widgets: list[Any] = []

    def _bind(self, name: str, value: Any) -> None:
        """Put ``value`` in the notebook's namespace as ``name``."""
        shell = self.shell
        assert shell is not None  # a magic only runs in the shell it is registered with
        shell.user_ns[name] = value

    @no_var_expand
    @line_cell_magic
    def ami(self, line: str, cell: str | None = None) -> Any:
        """Drive an Asterisk PBX (or amikit's simulated one) from the notebook."""
        if cell is not None:
            return self._cell(line, cell)
        words = split_line(line)
        if not words:
            return self._status()
        sub, args = words[0], words[1:]
        if sub in ("status",):
            return self._status()
        if sub in ("close", "disconnect"):
            return self._close()
        if sub == "help":
            from ._complete import help_topic

            return help_topic(args)
        if sub not in _SUBCOMMANDS:
            raise UsageError(f"unknown %ami subcommand {sub!r}; see %ami?")
        opts = _parse(sub, args)
        try:
            return getattr(self, f"_do_{sub}")(opts)
        except AmiError as exc:
            raise UsageError(f"{type(exc).__name__}: {exc}") from exc

    # -- subcommands ----------------------------------------------------------------------

    def _do_sim(self, opts: Any) -> Any:
        if opts.what == "start":
            if self.pbx is not None:
                print(f"simulated PBX already running on {self.pbx.host}:{self.pbx.port}")
                return None
            from ..sim import PBX

            self.pbx = PBX(calls_per_minute=opts.calls_per_minute, seed=opts.seed, speed=opts.speed)
            self.pbx.start()
            self._bind("pbx", self.pbx)
            print(
                f"simulated PBX on {self.pbx.host}:{self.pbx.port} "
                f"({opts.calls_per_minute:g} calls/min, demo user admin); "
                "now: %ami connect"
            )
            return None
        if opts.what == "stop":
            if self.pbx is None:
                print("no simulated PBX running")
                return None
            if self.client is not None and self._is_sim_client():
                self._close()
            self.pbx.stop()
            self.pbx = None
            print("simulated PBX stopped")
            return None
        return self._status()

    def _is_sim_client(self) -> bool:
        return (
            self.pbx is not None
            and self.client is not None
            and (self.client.server == f"{self.pbx.host}:{self.pbx.port}")
        )

    def _sim_secret(self, user: str) -> str | None:
        users = getattr(getattr(self.pbx, "server", None), "users", None) or {}
        if isinstance(users, dict):
            found = users.get(user)
        else:
            found = next((u for u in users if getattr(u, "name", None) == user), None)
        if found is not None:
            return str(found.secret)
        return "amikit" if user == "admin" else None  # the documented demo credentials

    def _do_connect(self, opts: Any) -> Any:
        from ..client import AMIClient

        if opts.address is None:
            if self.pbx is None:
                host, port = "127.0.0.1", DEFAULT_PORT
            else:
                host, port = self.pbx.host, self.pbx.port
        else:
            host, _, port_text = opts.address.partition(":")
            host = host or "127.0.0.1"
            try:
                port = int(port_text) if port_text else DEFAULT_PORT
            except ValueError as exc:
                raise UsageError(f"bad port in {opts.address!r}") from exc
        user = opts.user or os.environ.get("AMI_USERNAME") or "admin"
        is_sim = self.pbx is not None and (host, port) == (self.pbx.host, self.pbx.port)
        secret = os.environ.get("AMI_SECRET")
        if secret is None and is_sim:
            secret = self._sim_secret(user)
        if secret is None:
            secret = getpass.getpass(f"AMI secret for {user}@{host}:{port}: ")
        if self.client is not None:
            self._close()
        events: Any = {"on": True, "off": False}.get(opts.events.lower(), opts.events)
        client = AMIClient(host, port, user, secret, events=events)
        del secret
        client.connect()
        self.client = client
        self.history = _History(opts.history)
        self._subscriptions.append(client.on("*", self.history, thread="loop"))
        self._bind(opts.name, client)
        print(f"connected to {client.server} as {user} (client bound to `{opts.name}`)")
        return None

    def _need_client(self) -> Any:
        if self.client is None:
            raise UsageError("not connected: run %ami connect (or %ami sim start first)")
        return self.client

    def _do_action(self, opts: Any) -> Any:
        client = self._need_client()
        name, fields = _pairs_to_call([("Action", opts.name), *parse_fields(opts.fields)])
        return client.action(
            name, fields, timeout=opts.timeout, raise_on_error=False, check=not opts.no_check
        )

    def _cell(self, line: str, cell: str) -> Any:
        client = self._need_client()
        responses = []
        try:
            for pairs in parse_action_block(cell):
                name, fields = _pairs_to_call(pairs)
                responses.append(
                    client.action(
                        name, fields, raise_on_error=False, check="--no-check" not in line
                    )
                )
        except AmiError as exc:
            raise UsageError(f"{type(exc).__name__}: {exc}") from exc
        if not responses:
            raise UsageError("%%ami: the cell holds no action ('Action: NAME' lines)")
        return responses[0] if len(responses) == 1 else responses

    def _do_events(self, opts: Any) -> Any:
        from ._stream import EventStream

        widget = EventStream(
            self._need_client(),
            pattern=opts.pattern,
            rows=opts.rows,
            filter=opts.filter,
            hide_noise=not opts.show_noise,
        )
        self._widgets.append(widget)
        return widget

    def _prefilled(self, widget: Any) -> Any:
        """Feed the session history into ``widget``, then follow the client live."""
        client = self._need_client()
        history = self.history
        if history is not None:
            with history.lock:  # no event can slip between the snapshot and the subscription
                widget.extend(list(history.messages))
                widget.attach(client)
        else:
            widget.attach(client)
        self._widgets.append(widget)
        return widget

    def _do_calls(self, opts: Any) -> Any:
        from ._board import CallBoard

        return self._prefilled(CallBoard(recent=opts.recent))

    def _do_timeline(self, opts: Any) -> Any:
        from ._ladder import CallLadder

        return self._prefilled(CallLadder(call_id=opts.call_id))

    def _do_record(self, opts: Any) -> Any:
        if opts.what == "start":
            client = self._need_client()
            if opts.path is None:
                raise UsageError("%ami record start PATH: where to record")
            if self.recorder is not None:
                raise UsageError("already recording; %ami record stop first")
            from ..record import Recorder

            recorder = Recorder(
                client, opts.path, text=not opts.no_text, parquet=not opts.no_parquet
            )
            recorder.start()
            self.recorder = recorder
            self._bind("recorder", recorder)
            print(f"recording to {opts.path}")
            return None
        if self.recorder is None:
            print("not recording")
            return None
        recorder, self.recorder = self.recorder, None
        recorder.stop()
        print(f"recording stopped: {getattr(recorder, 'path', opts.path)}")
        return None

    def _status(self) -> None:
        sim = f"simulated PBX on {self.pbx.host}:{self.pbx.port}" if self.pbx else "no simulator"
        client = repr(self.client) if self.client is not None else "not connected"
        rec = "recording" if self.recorder is not None else "not recording"
        print(f"{sim}; {client}; {rec}")

    def _close(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
            self.recorder = None
        for widget in self._widgets:
            widget.detach()
        self._widgets.clear()
        for sub in self._subscriptions:
            sub.cancel()
        self._subscriptions.clear()
        if self.client is not None:
            client, self.client = self.client, None
            client.close()
            print(f"disconnected from {client.server}")

    def shutdown(self) -> None:
        """Close the client and stop the simulator (used on unload)."""
        self._close()
        if self.pbx is not None:
            self.pbx.stop()
            self.pbx = None


def _help() -> str:
    head = (__doc__ or "").split("Conventions followed")[0].strip()
    usages = "\n\n".join(str(func.__doc__ or "").strip() for func in _SUBCOMMANDS.values())
    return f"{head}\n\n{usages}"


AmiMagics.ami.__doc__ = _help()


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%ami`` magics (``%load_ext amikit``)."""
    from ._complete import install_completer
    from ._display import enable

    magics = AmiMagics(ipython)
    ipython.register_magics(magics)
    enable(ipython)
    install_completer(ipython)
    ipython._amikit_magics = magics  # for unload


def unload_ipython_extension(ipython: Any) -> None:
    """Close the session's client and simulator (``%unload_ext amikit``)."""
    from ._complete import uninstall_completer

    uninstall_completer(ipython)
    magics = getattr(ipython, "_amikit_magics", None)
    if magics is not None:
        magics.shutdown()
