"""A deliberately plain AMI client for tests: a socket and hand-written lines.

It shares no code with amikit's client; frames are split on the blank line by hand, so a test
using it checks the simulator against the protocol itself, not against our own parser.
"""

from __future__ import annotations

import socket
import time


class RawAMI:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""
        self.frames: list[dict[str, str]] = []  # everything received, in order
        self.arrivals: list[float] = []  # time.monotonic() when each frame was read
        line_end = self._read_until(b"\r\n")
        self.banner = line_end.decode()

    def _read_until(self, sep: bytes) -> bytes:
        while sep not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(sep)
        return head

    def send(self, text: str) -> None:
        self.sock.sendall(text.replace("\n", "\r\n").encode() + b"\r\n")

    def action(self, name: str, action_id: str, **fields: str) -> None:
        lines = [f"Action: {name}", f"ActionID: {action_id}"]
        lines += [f"{k}: {v}" for k, v in fields.items()]
        self.send("\n".join(lines) + "\n")

    def read_frame(self) -> dict[str, str]:
        raw = self._read_until(b"\r\n\r\n").decode()
        frame: dict[str, str] = {}
        for line in raw.split("\r\n"):
            key, _, value = line.partition(": ")
            if key in frame:
                frame[key] += "\n" + value
            else:
                frame[key] = value
        self.frames.append(frame)
        self.arrivals.append(time.monotonic())
        return frame

    def wait_for(self, predicate, timeout: float | None = None, since: int = 0) -> dict[str, str]:
        """The first frame (received already, from index ``since``, or read now) that matches.

        Nothing is consumed: ``frames`` keeps everything. TimeoutError when none arrives.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        for frame in self.frames[since:]:
            if predicate(frame):
                return frame
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching frame")
            self.sock.settimeout(left)
            try:
                frame = self.read_frame()
            except TimeoutError as exc:
                raise TimeoutError("no matching frame") from exc
            if predicate(frame):
                return frame

    def response(self, action_id: str, timeout: float | None = None) -> dict[str, str]:
        return self.wait_for(lambda f: f.get("ActionID") == action_id and "Response" in f, timeout)

    def event_list(self, action_id: str, timeout: float | None = None) -> list[dict[str, str]]:
        """Response, items and the ``EventList: Complete`` frame of one list action."""
        self.response(action_id, timeout)
        self.wait_for(
            lambda f: f.get("ActionID") == action_id and f.get("EventList") == "Complete", timeout
        )
        return [f for f in self.frames if f.get("ActionID") == action_id]

    def login(self, user: str = "admin", secret: str = "amikit") -> dict[str, str]:
        self.action("Login", "login", Username=user, Secret=secret)
        return self.response("login")

    def events(self, name: str | None = None) -> list[dict[str, str]]:
        return [f for f in self.frames if "Event" in f and (name is None or f["Event"] == name)]

    def close(self) -> None:
        self.sock.close()
