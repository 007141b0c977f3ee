"""amikit's own plain-words text about AMI: events, actions, fields, classes, hangup causes.

The *facts* (which events exist, their class, their fields, since when) come from
``data/ami-events.json``; everything written here is amikit's wording, aimed at someone who
has never read the Asterisk source. Events without an entry in :data:`EVENTS` get a sentence
built from their class and documenting module, so every documented event has *some* text.
"""

from __future__ import annotations

__all__ = ["ACTIONS", "BRIDGE_FIELDS", "CAUSES", "CLASSES", "EVENTS", "FIELDS", "ROLES", "SNAPSHOT"]

#: The channel snapshot block that most call events carry (optionally behind a role prefix).
SNAPSHOT: dict[str, str] = {
    "Channel": "name of the channel: technology/resource-counter, e.g. PJSIP/6001-00000012",
    "ChannelState": "numeric state of the channel (0 down, 4 ring, 5 ringing, 6 up, ...)",
    "ChannelStateDesc": "the channel state in words: Down, Ring, Ringing, Up, Busy, ...",
    "CallerIDNum": "the number this channel presents as its caller",
    "CallerIDName": "the name this channel presents as its caller",
    "ConnectedLineNum": "the number of the party on the other end of this channel",
    "ConnectedLineName": "the name of the party on the other end of this channel",
    "Language": "the language used for prompts played to this channel",
    "AccountCode": "a billing account code set on the channel (often empty)",
    "Context": "the dialplan context the channel is currently executing",
    "Exten": "the dialplan extension the channel is currently executing",
    "Priority": "the step (priority) within the extension that is executing",
    "Uniqueid": "identifier of this one channel, stable for its whole life; "
    "a string, never a number",
    "Linkedid": "Uniqueid of the oldest channel in the same call: the key that groups "
    "the channels of one call (it can change on transfers and pickups)",
    "Tenantid": "tenant identifier of the channel (multi-tenant systems, recent Asterisk)",
}

#: The bridge snapshot block (optionally behind a prefix: Orig, Second, To, From).
BRIDGE_FIELDS: dict[str, str] = {
    "BridgeUniqueid": "identifier (a UUID) of the bridge: the 'room' where channels talk",
    "BridgeType": "kind of bridge: basic (a normal call), parking, holding, ...",
    "BridgeTechnology": "how media is mixed: simple_bridge, native_rtp, softmix, ...",
    "BridgeCreator": "who created the bridge (an application such as Dial, or <unknown>)",
    "BridgeName": "a name given to the bridge, if any",
    "BridgeNumChannels": "how many channels are in the bridge right now",
    "BridgeVideoSourceMode": "how the video source is chosen in a video bridge",
    "BridgeVideoSource": "the channel currently providing video",
}

#: Role prefixes of snapshot blocks: which channel the prefixed block describes.
ROLES: dict[str, str] = {
    "Dest": "the channel being dialled (the destination)",
    "Transferer": "the channel that performed the transfer",
    "Transferee": "the channel being transferred",
    "OrigTransferer": "the transferring party's channel in the original call",
    "SecondTransferer": "the transferring party's channel in the consultation call",
    "TransferTarget": "the channel the call is transferred to",
    "LocalOne": "the ;1 half of a Local channel pair (the side that was dialled)",
    "LocalTwo": "the ;2 half of a Local channel pair (the side that runs dialplan)",
    "Source": "the channel being optimised away",
    "Target": "the channel whose call is picked up",
    "Parkee": "the channel that is parked",
    "Parker": "the channel that parked the call",
    "Retriever": "the channel that takes the call out of the parking lot",
    "Spyer": "the channel that is listening in",
    "Spyee": "the channel being listened to",
}

#: Prefixes of bridge blocks.
BRIDGE_ROLES: dict[str, str] = {
    "Orig": "the original call's bridge",
    "Second": "the consultation call's bridge",
    "To": "the bridge that remains after a merge",
    "From": "the bridge that is merged away",
}

#: Other fields, by name.
FIELDS: dict[str, str] = {
    "Event": "the name of the event",
    "Privilege": "the permission classes a manager user needs to receive this event",
    "Response": "outcome of an action: Success, Error, Follows or Goodbye",
    "Message": "a human-readable sentence from Asterisk about the response",
    "ActionID": "the client's tag echoed back so it can match replies to its request",
    "Action": "the name of the request a client sends",
    "Timestamp": "server clock when the event was raised (timestampevents = yes)",
    "SystemName": "the Asterisk system name, set when several servers share a log",
    "EventList": "marks the start (start) and the end (Complete) of a list of events",
    "ListItems": "how many items the list that just ended held",
    "Items": "how many items the list that just ended held",
    "Cause": "Q.850 hangup cause code: why the channel ended (16 normal, 17 busy, ...)",
    "Cause-txt": "the hangup cause in words",
    "TechCause": "the technology's own cause, e.g. the SIP response code (487, 603, ...)",
    "DialString": "what was dialled: the resource after the technology, e.g. 6001",
    "DialStatus": "dial progress or result: RINGING, PROGRESS, ANSWER, BUSY, NOANSWER, "
    "CANCEL, CONGESTION, CHANUNAVAIL, ...",
    "Forward": "where the call was forwarded to, when the callee redirects it",
    "Variable": "name of the channel variable that was set",
    "Value": "the value the variable was set to",
    "Application": "the dialplan application being run (Dial, Queue, Playback, ...)",
    "AppData": "the arguments given to that application",
    "Extension": "old name of Exten, kept for compatibility",
    "SwapUniqueid": "Uniqueid of the channel this one replaces in the bridge (optimisations)",
    "Queue": "name of the call queue",
    "Position": "the caller's place in the queue (1 is next)",
    "Count": "how many callers are waiting in the queue",
    "OriginalPosition": "the place the caller had when joining the queue",
    "HoldTime": "seconds the caller waited in the queue",
    "RingTime": "seconds the agent's phone rang",
    "TalkTime": "seconds the caller and the agent talked",
    "MemberName": "the queue member's (agent's) name",
    "Interface": "the device a queue member is reached on",
    "Reason": "why it ended (caller, agent, transfer, ...) or an originate reason code",
    "Digit": "the DTMF digit (keypad key) pressed",
    "Direction": "Received (from the phone) or Sent (to the phone)",
    "DurationMs": "how long the key was held, in milliseconds",
    "MusicClass": "the music-on-hold class that will be played",
    "Class": "the music-on-hold class being played",
    "Result": "the outcome: Success, Fail, Invalid, Not Permitted",
    "IsExternal": "Yes when the transfer was requested by the phone (SIP REFER), not by Asterisk",
    "DestType": "how an attended transfer ended: Bridge, App, Link, Threeway or Fail",
    "DestBridgeUniqueid": "the bridge the transferred parties end up in",
    "DestApp": "the application the transferee is sent to",
    "DestTransfererChannel": "the channel that replaces the transferer (three-way transfers)",
    "LocalOptimization": "Yes if the Local pair may be optimised out of the call",
    "Id": "an identifier pairing the Begin and End of a Local optimisation",
    "Success": "whether the Local optimisation succeeded",
    "DestUniqueId": "Uniqueid of the channel that takes the place of the optimised one",
    "Newname": "the channel's new name after a rename",
    "UserEvent": "the name the dialplan or a client gave this user event",
    "CID-CallingPres": "caller id presentation (allowed, restricted, ...) in code and words",
    "OldAccountCode": "the account code before the change",
    "Device": "a device name, e.g. PJSIP/6001",
    "State": "a state in words: NOT_INUSE, INUSE, RINGING, UNAVAILABLE, ...",
    "Hint": "the device(s) the dialplan hint maps this extension to",
    "Status": "a status code or word; its meaning depends on the event",
    "StatusText": "the status in words",
    "Peer": "the endpoint (peer) the event is about",
    "PeerStatus": "Registered, Unregistered, Reachable, Unreachable, Lagged, ...",
    "ChannelType": "the channel technology (PJSIP, SIP, IAX2, ...)",
    "Address": "network address of the endpoint",
    "Port": "network port of the endpoint",
    "URI": "the contact address of a SIP endpoint",
    "AOR": "the SIP address of record",
    "EndpointName": "the SIP endpoint's name",
    "ContactStatus": "Created, Removed, Reachable, Unreachable, Updated",
    "RoundtripUsec": "measured round-trip time to the contact, in microseconds",
    "Uptime": "seconds since Asterisk started",
    "LastReload": "seconds since the configuration was last reloaded",
    "Module": "the Asterisk module concerned",
    "Source": "CDR: the caller's number",
    "Destination": "CDR: the number that was dialled",
    "DestinationContext": "CDR: the dialplan context of the destination",
    "CallerID": 'CDR: caller id as "name" <number>',
    "DestinationChannel": "CDR: the channel that answered or was dialled",
    "LastApplication": "CDR: the last dialplan application run",
    "LastData": "CDR: the arguments of that application",
    "StartTime": "CDR: when the call started",
    "AnswerTime": "CDR: when the call was answered (empty if never)",
    "EndTime": "CDR: when the call ended",
    "Duration": "seconds from start to end",
    "BillableSeconds": "CDR: seconds from answer to end",
    "Disposition": "CDR outcome: ANSWERED, NO ANSWER, BUSY, FAILED",
    "AMAFlags": "billing flags: DOCUMENTATION, BILLING, OMIT",
    "UniqueID": "Uniqueid of the channel the record is about",
    "LinkedID": "Linkedid of the channel the record is about",
    "UserField": "free-form text the dialplan stored for billing",
    "EventName": "CEL: the kind of channel event (CHAN_START, ANSWER, BRIDGE_ENTER, ...)",
    "EventTime": "CEL: when it happened",
    "Extra": "CEL: event-specific details as JSON",
    "Parkinglot": "the parking lot's name",
    "ParkingSpace": "the parking slot number callers dial to retrieve the call",
    "ParkingTimeout": "seconds before a parked call rings back",
    "ParkingDuration": "seconds the call has been parked",
    "ParkerDialString": "where the call goes back to when parking times out",
    "Conference": "the conference room's name",
    "Output": "one line of CLI output (Command action)",
    "Secret": "the manager user's password: never shown by amikit",
    "Key": "the MD5 answer to a login challenge: never shown by amikit",
    "Username": "the manager user name",
    "AuthType": "login method: MD5 for a challenge login",
    "Events": "which event classes to send on this session (on, off, or a class list)",
    "Ping": "the answer to Ping: Pong",
    "Data": "arguments of the application started by an originate",
    "Async": "true: return at once and report the result later in OriginateResponse",
    "Timeout": "milliseconds to wait for the call to be answered",
    "Command": "the Asterisk CLI command to run",
    "Filter": "a filter expression that selects which events this session receives",
    "Operation": "what to do with the filter (Add)",
    "MatchCriteria": "how a filter matches (newer form: name, header, data, ...)",
}

#: Event classes (manager.conf read/write classes) in plain words.
CLASSES: dict[str, str] = {
    "call": "calls and channels",
    "dialplan": "dialplan execution (very chatty)",
    "agent": "queues and agents",
    "system": "the system: boot, reload, endpoints, registrations",
    "security": "security: logins and failed authentications",
    "reporting": "reporting: RTCP and statistics",
    "command": "replies to commands (lists)",
    "agi": "AGI scripts",
    "aoc": "advice of charge",
    "dtmf": "keypad digits",
    "user": "user events from the dialplan or clients",
    "cdr": "call detail records",
    "cel": "channel event logging",
    "class": "internal",
}

#: Q.850 hangup causes seen in practice.
CAUSES: dict[str, str] = {
    "0": "unknown: no cause was recorded",
    "1": "the number does not exist",
    "3": "no route to the destination",
    "16": "normal clearing: someone hung up after the call",
    "17": "user busy: the callee was busy",
    "18": "no user responding: the callee's device did not answer the signalling",
    "19": "no answer: it rang and nobody picked up",
    "20": "subscriber absent: the device is not registered",
    "21": "call rejected: the callee declined",
    "26": "answered elsewhere: another phone in the group took the call",
    "27": "destination out of order",
    "28": "invalid number format",
    "29": "facility rejected",
    "31": "normal, unspecified",
    "34": "no circuit/channel available (congestion)",
    "38": "network out of order",
    "41": "temporary failure",
    "42": "switching equipment congestion",
    "44": "the requested channel is not available",
    "50": "requested facility not subscribed",
    "58": "bearer capability not available",
    "65": "bearer capability not implemented",
    "66": "channel type not implemented",
    "69": "requested facility not implemented",
    "79": "service or option not implemented",
    "88": "incompatible destination",
    "102": "recovery on timer expiry (a timeout)",
    "111": "protocol error",
    "127": "interworking, unspecified",
}

#: One or two sentences per event, for the events people meet every day.
EVENTS: dict[str, str] = {
    "Newchannel": "A new channel was created: a phone started a call, or Asterisk created a leg "
    "to dial someone. Every channel's life starts with this event.",
    "Newstate": "A channel changed state, e.g. Ring (dialling out), Ringing (being rung) or "
    "Up (answered).",
    "Hangup": "A channel is gone. This is the last event for its Uniqueid; Cause says why.",
    "HangupRequest": "Someone asked for this channel to be hung up; usually the side that hung "
    "up first.",
    "SoftHangupRequest": "Asterisk itself asked for this channel to be hung up, typically the "
    "other side being torn down after a hangup.",
    "DialBegin": "A channel started dialling another one (the Dest* fields). One DialBegin "
    "always has exactly one DialEnd per destination.",
    "DialState": "Progress of a dial attempt: the destination is ringing or sends progress.",
    "DialEnd": "A dial attempt finished; DialStatus says how (ANSWER, BUSY, NOANSWER, "
    "CANCEL, ...).",
    "BridgeCreate": "A bridge (the place where channels exchange audio) was created. It names "
    "no channel and carries no Linkedid.",
    "BridgeEnter": "A channel joined a bridge: once two channels are in, they can talk.",
    "BridgeLeave": "A channel left a bridge (hangup, transfer, hold in a holding bridge, ...).",
    "BridgeDestroy": "A bridge was removed after its last channel left.",
    "BridgeMerge": "Two bridges were merged into one (some transfers do this).",
    "Newexten": "The channel moved to a new dialplan step and runs an application there. "
    "Very frequent: usually treated as noise.",
    "NewExten": "The channel moved to a new dialplan step and runs an application there. "
    "Very frequent: usually treated as noise.",
    "VarSet": "A channel variable was set. The most frequent event of all: usually noise.",
    "NewCallerid": "The caller id of a channel changed.",
    "NewConnectedLine": "The connected line (who the channel is talking to) changed.",
    "NewAccountCode": "The account code of a channel changed.",
    "LocalBridge": "Both halves (;1 and ;2) of a Local channel now exist and are joined. Local "
    "channels are Asterisk-internal helpers that run dialplan as if it were a call.",
    "LocalOptimizationBegin": "Asterisk starts removing a Local channel pair from a call "
    "because it is no longer needed.",
    "LocalOptimizationEnd": "The Local channel pair optimisation finished.",
    "Hold": "The phone put the call on hold.",
    "Unhold": "The phone took the call off hold.",
    "MusicOnHoldStart": "Music on hold started playing to this channel.",
    "MusicOnHoldStop": "Music on hold stopped playing to this channel.",
    "BlindTransfer": "A call was transferred without consulting the target first.",
    "AttendedTransfer": "A call was transferred after the transferer talked to the target "
    "(consultation call); the two calls are joined.",
    "Pickup": "A call ringing elsewhere was picked up by this channel.",
    "ParkedCall": "A call was parked in a parking lot; it can be retrieved by dialling the slot.",
    "ParkedCallTimeOut": "A parked call was not retrieved in time and goes back.",
    "ParkedCallGiveUp": "The caller hung up while parked.",
    "UnParkedCall": "A parked call was retrieved.",
    "QueueCallerJoin": "A caller entered a call queue and waits for an agent.",
    "QueueCallerLeave": "A caller left the queue (connected to an agent, or gave up).",
    "QueueCallerAbandon": "A caller hung up while still waiting in the queue.",
    "AgentCalled": "The queue is ringing an agent (the Dest* channel) for this caller.",
    "AgentConnect": "An agent answered and is connected to the caller.",
    "AgentComplete": "A queue call between caller and agent ended.",
    "AgentRingNoAnswer": "An agent was rung for a queue call but did not answer.",
    "AgentDump": "An agent hung up on a queue call before being connected.",
    "QueueMemberStatus": "A queue member's device state changed; frequent, often noise.",
    "QueueMemberAdded": "A member was added to a queue.",
    "QueueMemberRemoved": "A member was removed from a queue.",
    "QueueMemberPause": "A queue member was paused or unpaused.",
    "DTMFBegin": "A keypad key started being pressed (or sent).",
    "DTMFEnd": "A keypad key was released; Digit says which.",
    "UserEvent": "A custom event raised by the dialplan (UserEvent()) or by a client action.",
    "OriginateResponse": "The result of an asynchronous Originate: whether the call could be "
    "placed. It is an event that also carries Response.",
    "DeviceStateChange": "A device (phone) changed state: in use, ringing, idle, ... Frequent "
    "and usually noise for call analysis.",
    "ExtensionStatus": "The status of an extension hint changed (busy lamp fields).",
    "PresenceStateChange": "A presence state changed.",
    "PeerStatus": "An endpoint registered, unregistered or changed reachability.",
    "ContactStatus": "A SIP contact was created, removed or changed reachability.",
    "Registry": "An outbound registration to a provider changed state.",
    "RTCPSent": "An RTCP quality report was sent on a media stream; every few seconds per "
    "stream, usually noise.",
    "RTCPReceived": "An RTCP quality report was received on a media stream; usually noise.",
    "FullyBooted": "Asterisk finished starting; sent on login too.",
    "Shutdown": "Asterisk is shutting down.",
    "Reload": "A module's configuration was reloaded.",
    "SuccessfulAuth": "Someone authenticated successfully (security event).",
    "ChallengeSent": "An authentication challenge was sent (security event).",
    "InvalidPassword": "A login used a wrong password (security event).",
    "FailedACL": "A connection was refused by an access control list (security event).",
    "InvalidAccountID": "A login used an unknown account (security event).",
    "Cdr": "A call detail record: the billing summary of one channel's call, written at the "
    "end (cdr_manager). It has no Linkedid.",
    "CEL": "A channel event logging record: one step in a channel's life, for detailed billing.",
    "CoreShowChannel": "One item of the CoreShowChannels list: a live channel.",
    "CoreShowChannelsComplete": "End of the CoreShowChannels list.",
    "Status": "One item of the Status list: a live channel with its details.",
    "StatusComplete": "End of the Status list.",
    "QueueParams": "One item of the QueueStatus list: a queue's settings and counters.",
    "QueueMember": "One item of the QueueStatus list: a queue member.",
    "QueueEntry": "One item of the QueueStatus list: a waiting caller.",
    "Rename": "A channel was renamed.",
    "MixMonitorStart": "Recording of the call started.",
    "MixMonitorStop": "Recording of the call stopped.",
    "ConfbridgeJoin": "A channel joined a conference.",
    "ConfbridgeLeave": "A channel left a conference.",
    "ConfbridgeStart": "A conference started (its first member joined).",
    "ConfbridgeEnd": "A conference ended (its last member left).",
    "ConfbridgeTalking": "A conference member started or stopped talking.",
    "ChanSpyStart": "A channel started listening in on another.",
    "ChanSpyStop": "A channel stopped listening in.",
    "MessageWaiting": "The voicemail message count of a mailbox changed.",
    "AGIExecStart": "An AGI script started a command.",
    "AGIExecEnd": "An AGI command finished.",
    "HangupHandlerRun": "A hangup handler (dialplan run after hangup) started.",
}

#: Actions: a sentence and the fields a client usually sends.
ACTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "Login": (
        "Log in to the manager interface. amikit uses the MD5 challenge form by default so "
        "the password never crosses the wire.",
        {
            "Username": FIELDS["Username"],
            "Secret": FIELDS["Secret"],
            "Key": FIELDS["Key"],
            "AuthType": FIELDS["AuthType"],
            "Events": FIELDS["Events"],
        },
    ),
    "Challenge": (
        "Ask the server for a random challenge to answer with MD5(challenge + secret).",
        {"AuthType": FIELDS["AuthType"]},
    ),
    "Logoff": ("End the manager session politely; the server answers Goodbye.", {}),
    "Ping": ("Check that the connection is alive; the server answers Pong.", {}),
    "Events": (
        "Choose which event classes this session receives.",
        {"EventMask": "on, off, or a comma-separated list of classes"},
    ),
    "Filter": (
        "Add an event filter to this session so only matching events are sent.",
        {
            "Operation": FIELDS["Operation"],
            "Filter": FIELDS["Filter"],
            "MatchCriteria": FIELDS["MatchCriteria"],
        },
    ),
    "Originate": (
        "Place a new call: first ring Channel; when it answers, connect it to a dialplan "
        "extension (Context/Exten/Priority) or run an Application.",
        {
            "Channel": "the first party to ring, e.g. PJSIP/6001",
            "Context": "dialplan context to send the answered call to",
            "Exten": "extension to send the answered call to",
            "Priority": "priority to start at (usually 1)",
            "Application": "application to run instead of an extension",
            "Data": FIELDS["Data"],
            "Timeout": FIELDS["Timeout"],
            "CallerID": "caller id to present",
            "Variable": "channel variables, NAME=value",
            "Async": FIELDS["Async"],
            "ChannelId": "Uniqueid to give the new channel",
        },
    ),
    "Hangup": (
        "Hang up a channel.",
        {
            "Channel": "the channel to hang up (name or a /regex/)",
            "Cause": "Q.850 cause code to use",
        },
    ),
    "Redirect": (
        "Send a channel (and optionally its peer) to another place in the dialplan.",
        {
            "Channel": "channel to move",
            "ExtraChannel": "a second channel to move",
            "Context": "target context",
            "Exten": "target extension",
            "Priority": "target priority",
        },
    ),
    "Command": (
        "Run an Asterisk CLI command and return its text output.",
        {"Command": FIELDS["Command"]},
    ),
    "CoreStatus": ("Report the server's start time, reload time and number of calls.", {}),
    "CoreSettings": ("Report the server's version and main settings.", {}),
    "CoreShowChannels": ("List the live channels (an event list of CoreShowChannel items).", {}),
    "Status": (
        "List the live channels with details (an event list of Status items).",
        {"Channel": "only this channel", "Variables": "channel variables to include"},
    ),
    "QueueStatus": (
        "List queues, their members and waiting callers.",
        {"Queue": "only this queue", "Member": "only this member"},
    ),
    "Setvar": (
        "Set a channel (or global) variable.",
        {
            "Channel": "the channel (omit for a global variable)",
            "Variable": "name",
            "Value": "value",
        },
    ),
    "Getvar": (
        "Read a channel (or global) variable.",
        {"Channel": "the channel (omit for a global variable)", "Variable": "name"},
    ),
    "UserEvent": (
        "Raise a custom event that every listening manager session receives.",
        {"UserEvent": "the name of the event", "(any)": "extra headers passed through"},
    ),
    "BlindTransfer": (
        "Transfer a channel's peer to an extension without consultation.",
        {
            "Channel": "the transferring channel",
            "Context": "target context",
            "Exten": "target extension",
        },
    ),
    "Atxfer": (
        "Start an attended transfer on behalf of a channel.",
        {
            "Channel": "the transferring channel",
            "Context": "target context",
            "Exten": "target extension",
        },
    ),
    "Park": (
        "Park a channel in a parking lot.",
        {"Channel": "the channel to park", "Parkinglot": FIELDS["Parkinglot"]},
    ),
    "QueueAdd": (
        "Add a member (agent) to a queue.",
        {
            "Queue": FIELDS["Queue"],
            "Interface": FIELDS["Interface"],
            "MemberName": FIELDS["MemberName"],
            "Paused": "start paused (true/false)",
        },
    ),
    "QueueRemove": (
        "Remove a member from a queue.",
        {"Queue": FIELDS["Queue"], "Interface": FIELDS["Interface"]},
    ),
    "QueuePause": (
        "Pause or unpause a queue member.",
        {
            "Interface": FIELDS["Interface"],
            "Paused": "true or false",
            "Queue": "only in this queue",
            "Reason": "why",
        },
    ),
    "MixMonitor": (
        "Start recording a channel's call to a file.",
        {"Channel": "the channel", "File": "where to write", "Options": "MixMonitor options"},
    ),
    "ListCommands": ("List every action the server knows, with a short description.", {}),
    "ExtensionState": (
        "Ask for the state of a dialplan hint.",
        {"Exten": "extension", "Context": "context"},
    ),
}
