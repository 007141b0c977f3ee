"""The standard field blocks of Asterisk 12+ events: facts of the wire, named once.

A channel snapshot is the same fourteen headers, in the same order, in every channel event
(``ast_manager_build_channel_state_string_prefix`` in ``main/manager_channels.c``); when an
event describes several channels, each block carries a role prefix (``DestChannel``,
``TransfererUniqueid``, ``LocalOneLinkedid``, ...). Bridge snapshots work the same way
(``main/manager_bridges.c``). The recorder's wide columns, the simulator's event builder and
the analysis' channel-linking rules all read these tuples, so they cannot drift apart.
"""

from __future__ import annotations

__all__ = ["BRIDGE_SNAPSHOT", "CHANNEL_ROLES", "CHANNEL_SNAPSHOT"]

#: Channel snapshot headers, in Asterisk's emission order.
CHANNEL_SNAPSHOT: tuple[str, ...] = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)

#: Role prefixes of channel snapshot blocks ("" is the event's own channel).
CHANNEL_ROLES: tuple[str, ...] = (
    "",
    "Dest",
    "Transferer",
    "Transferee",
    "OrigTransferer",
    "SecondTransferer",
    "TransferTarget",
    "LocalOne",
    "LocalTwo",
    "Parkee",
    "Retriever",
    "Source",
    "Target",
)

#: Bridge snapshot headers, in Asterisk's emission order.
BRIDGE_SNAPSHOT: tuple[str, ...] = (
    "BridgeUniqueid",
    "BridgeType",
    "BridgeTechnology",
    "BridgeCreator",
    "BridgeName",
    "BridgeNumChannels",
    "BridgeVideoSourceMode",
)
