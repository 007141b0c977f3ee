"""One AMI connection as an ``asyncio.Protocol`` (loop thread); see :mod:`._engine`.

* ``data_received`` feeds the sans-I/O :class:`~amikit.protocol.Parser`, stamps every message
  (``received_at`` once per read chunk, ``seq`` per connection from 1, ``connection`` =
  generation), resolves pending actions by ActionID and hands the events of the chunk to the
  subscriptions in one batch. A protocol callback cannot wait, which is the point: reading
  never waits on a consumer. The only brake is deliberate: a full *lossless* subscription
  pauses reading (``transport.pause_reading``) until it has drained.
* Actions are correlated by ActionID only. An event-list action (``EventList: start``)
  completes when its own terminator arrives (:attr:`Message.is_list_end`), never by
  guessing from the text; its items are collected on the response's ``.events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    ActionError,
    AmiTimeout,
    ConnectError,
    ConnectionLost,
    RemoteProtocolError,
    UsageError,
)
from ..protocol import Message, Parser, encode_action
from ._values import ActionResponse

if TYPE_CHECKING:
    from ._engine import ClientEngine

log = logging.getLogger("amikit.client")
_UTC = timezone.utc


class _Pending:
    __slots__ = ("events", "future", "name", "response")

    def __init__(self, future: asyncio.Future[ActionResponse], name: str) -> None:
        self.future = future
        self.name = name
        self.response: ActionResponse | None = None
        self.events: list[Message] = []


class _Connection(asyncio.Protocol):
    """One TCP/TLS connection of one generation."""

    def __init__(self, engine: ClientEngine, generation: int) -> None:
        self.engine = engine
        self.generation = generation
        self.parser = Parser()
        self.transport: asyncio.Transport | None = None
        self.seq = 0
        self.pending: dict[str, _Pending] = {}
        self.lists: dict[str, _Pending] = {}
        self.dead = False
        self.paused = False
        loop = asyncio.get_running_loop()
        self.banner: asyncio.Future[str] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.pinger: asyncio.Task[None] | None = None

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        engine = self.engine
        engine.bytes_received += len(data)
        try:
            messages = self.parser.feed(data)
        except RemoteProtocolError as exc:
            messages = exc.messages
            engine.protocol_errors += 1
            log.warning("%s: skipped bad bytes from the server: %s", engine.server, exc)
        if not self.banner.done() and self.parser.banner is not None:
            self.banner.set_result(self.parser.banner)
        if not messages:
            return
        now = datetime.now(_UTC)
        seq = self.seq
        generation = self.generation
        events: list[Message] = []
        append = events.append
        for msg in messages:
            seq += 1
            msg.received_at = now
            msg.seq = seq
            msg.connection = generation
            if msg.raw.startswith(b"Event:") or msg.is_event:
                if self.lists:
                    self._list_item(msg)
                append(msg)
            else:
                self._response(msg)
        self.seq = seq
        engine.received += len(messages)
        if events:
            engine.dispatch(events)

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        reason = f"connection lost: {exc}" if exc else "connection closed by the server"
        self.fail(reason)

    # -- correlation ----------------------------------------------------------------------

    def _response(self, msg: Message) -> None:
        action_id = msg.action_id
        pending = self.pending.get(action_id) if action_id is not None else None
        if pending is None or pending.future.done():
            self.engine.unmatched += 1
            log.debug("%s: response with no pending action: %r", self.engine.server, msg)
            return
        response = ActionResponse._wrap(msg)
        if msg.is_list_start:
            pending.response = response
            self.lists[action_id] = pending  # type: ignore[index]
        else:
            pending.future.set_result(response)

    def _list_item(self, msg: Message) -> None:
        action_id = msg.get("ActionID")
        pending = self.lists.get(action_id) if action_id is not None else None
        if pending is None:
            return
        if msg.is_list_end:
            del self.lists[action_id]  # type: ignore[arg-type]
            response = pending.response
            assert response is not None
            response.events = pending.events
            response.list_end = msg
            if not pending.future.done():
                pending.future.set_result(response)
        else:
            pending.events.append(msg)

    async def request(
        self,
        name: str,
        fields: Sequence[tuple[str, Any]],
        timeout: float,
        raise_on_error: bool = True,
    ) -> ActionResponse:
        """Send one action and wait for its response (and its event list, if any)."""
        if self.dead or self.transport is None:
            raise ConnectionLost(f"{name}: not connected to {self.engine.server}")
        action_id = None
        for key, value in fields:
            if key.lower() == "actionid":
                action_id = str(value)
        if action_id is None:
            action_id = self.engine.next_action_id()
            data = encode_action(name, fields, action_id=action_id)
        else:
            data = encode_action(name, fields)
        if action_id in self.pending:
            raise UsageError(f"ActionID {action_id!r} is already waiting for a response")
        future: asyncio.Future[ActionResponse] = asyncio.get_running_loop().create_future()
        self.pending[action_id] = _Pending(future, name)
        try:
            self.transport.write(data)
            try:
                response = await asyncio.wait_for(future, timeout)
            except asyncio.TimeoutError:
                raise AmiTimeout(f"{name}: no response within {timeout:g} s") from None
        finally:
            self.pending.pop(action_id, None)
            self.lists.pop(action_id, None)
        if raise_on_error and (response.get("Response") or "").lower() == "error":
            raise ActionError(name, response)
        return response

    # -- loss -----------------------------------------------------------------------------

    def fail(self, reason: str) -> None:
        """Mark the connection lost: close it, fail pending actions, tell the engine."""
        if self.dead:
            return
        self.dead = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()
        if not self.banner.done():
            self.banner.set_exception(ConnectError(reason))
            self.banner.exception()  # consumed: nobody may be waiting
        for pending in list(self.pending.values()):
            if not pending.future.done():
                pending.future.set_exception(ConnectionLost(f"{pending.name}: {reason}"))
        if self.pinger is not None and self.pinger is not asyncio.current_task():
            self.pinger.cancel()
        self.engine.connection_lost(self, reason)

    async def wait_closed(self, timeout: float = 2.0) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)

    def pause(self, paused: bool) -> None:
        if self.transport is None or self.dead or paused == self.paused:
            return
        self.paused = paused
        if paused:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()
