"""The AMI wire format, sans I/O: bytes in, messages out; messages to bytes.

No sockets, no asyncio, no clocks. The client, the simulated PBX, the recorder and the
loaders all go through this package, so it is the one place that knows the wire format.

>>> from amikit.protocol import Parser, encode_action
>>> p = Parser()
>>> msgs = p.feed(b"Asterisk Call Manager/11.0.0\\r\\nEvent: Hangup\\r\\nCause: 16\\r\\n\\r\\n")
>>> p.banner, msgs[0].name, msgs[0]["cause"]
('Asterisk Call Manager/11.0.0', 'Hangup', '16')
"""

from .._exceptions import LocalProtocolError, ProtocolError, RemoteProtocolError
from ._encode import EncodedAction, encode_action, encode_message, login_key
from ._message import SECRET_KEYS, Message, mask_value
from ._parser import DEFAULT_MAX_FRAME_SIZE, Parser

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "SECRET_KEYS",
    "EncodedAction",
    "LocalProtocolError",
    "Message",
    "Parser",
    "ProtocolError",
    "RemoteProtocolError",
    "encode_action",
    "encode_message",
    "login_key",
    "mask_value",
]
