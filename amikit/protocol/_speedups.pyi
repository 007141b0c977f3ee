# Type stub for the optional C core of amikit.Message (_speedups.c); the pure-Python twin is
# amikit.protocol._message._MessageCore.
from datetime import datetime
from typing import Any

class MessageCore:
    _frame: bytes
    _k: int
    _items: list[tuple[str, str]] | None
    _stray: list[str] | None
    received_at: datetime | None
    seq: int | None
    connection: int | None
    def __init__(self, raw: bytes | bytearray | memoryview, _kind: int = -1) -> None: ...
    @property
    def raw(self) -> bytes: ...
    @property
    def name(self) -> str: ...
    def get(self, key: str, default: Any = None) -> Any: ...
    def to_dict(self) -> dict[str, str | list[str]]: ...
