"""The catalogue of simulated call scenarios and the simulated dialplan.

Each scenario names the real Asterisk 22 call it is modelled on (a template, see
:mod:`amikit.sim._extract`) and, for the one scenario that has no capture of its own, how it is
derived: *caller cancels* is the ringing phase of a real call to a phone that never answers,
ended by the caller hanging up after a random ring time (the engine's teardown model).

The simulated dialplan is the capture's dialplan (``tests/data/asterisk22/extensions.conf``):
``Originate`` to ``Local/<exten>@internal`` picks the scenario from ``<exten>``.
"""

from __future__ import annotations

from ._templates import ScenarioSpec

__all__ = ["DEFAULT_MIX", "DIALPLAN", "SCENARIOS", "resolve_mix", "scenario_for"]

SCENARIOS: dict[str, ScenarioSpec] = {
    spec.name: spec
    for spec in [
        ScenarioSpec("answered", "dial"),
        ScenarioSpec("noanswer", "noanswer"),
        ScenarioSpec("busy", "busy"),
        ScenarioSpec("cancel", "pickup", cut_before_channel="Local/1310@", hangup_after=(2.0, 9.0)),
        ScenarioSpec("congestion", "congestion"),
        ScenarioSpec("rejected", "rejected"),
        ScenarioSpec("parallel", "parallel"),
        ScenarioSpec("queue", "queue"),
        ScenarioSpec("blind_transfer", "blind_xfer"),
        ScenarioSpec("blind_transfer_dtmf", "blind_xfer_dtmf"),
        ScenarioSpec("attended_transfer", "atxfer"),
        ScenarioSpec("attended_transfer_park", "atxfer_park"),
        ScenarioSpec("pickup", "pickup"),
        ScenarioSpec("forward", "forward"),
        ScenarioSpec("hold", "hold"),
        ScenarioSpec("ivr", "ivr"),
        ScenarioSpec("ivr_dial", "dial_dtmf"),
        ScenarioSpec("playback", "playback"),
        ScenarioSpec("voicemail", "dial_busy"),
        ScenarioSpec("echo", "echo"),
        ScenarioSpec("moh", "moh"),
        ScenarioSpec("record", "record"),
        ScenarioSpec("conference", "conference"),
        ScenarioSpec("park", "park"),
        ScenarioSpec("varset", "varset"),
    ]
}

#: exten@internal -> scenario (the capture's dialplan)
DIALPLAN: dict[str, str] = {
    "100": "echo",
    "110": "ivr",
    "120": "playback",
    "200": "answered",
    "210": "ivr_dial",
    "220": "parallel",
    "230": "voicemail",
    "300": "queue",
    "400": "conference",
    "500": "busy",
    "501": "noanswer",
    "502": "congestion",
    "503": "rejected",
    "600": "varset",
    "700": "park",
    "800": "moh",
    "900": "record",
    "1100": "blind_transfer",
    "1110": "blind_transfer_dtmf",
    "1200": "attended_transfer",
    "1210": "attended_transfer_park",
    "1300": "pickup",
    "1400": "forward",
    "1500": "hold",
}

#: Background mix: mostly ordinary calls, some failures, a little of everything else.
DEFAULT_MIX: dict[str, float] = {
    "answered": 20,
    "noanswer": 6,
    "busy": 5,
    "cancel": 6,
    "congestion": 2,
    "rejected": 1,
    "parallel": 5,
    "queue": 8,
    "blind_transfer": 3,
    "blind_transfer_dtmf": 1,
    "attended_transfer": 3,
    "attended_transfer_park": 1,
    "pickup": 2,
    "forward": 2,
    "hold": 3,
    "ivr": 5,
    "ivr_dial": 3,
    "playback": 3,
    "voicemail": 3,
    "echo": 2,
    "moh": 2,
    "record": 2,
    "conference": 3,
    "park": 2,
    "varset": 2,
}

# template kind names are accepted as aliases
_ALIASES = {spec.template: spec.name for spec in SCENARIOS.values() if spec.name != "pickup"}
_ALIASES.update({"blind_xfer": "blind_transfer", "atxfer": "attended_transfer", "dial": "answered"})


def _canonical(name: str) -> str:
    if name in SCENARIOS:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    known = ", ".join(sorted(SCENARIOS))
    raise ValueError(f"unknown scenario {name!r}; known scenarios: {known}")


def resolve_mix(
    scenarios: dict[str, float] | list[str] | tuple[str, ...] | str | None,
) -> dict[str, float]:
    """Normalise the ``scenarios=`` argument of :class:`PBX` to ``{name: weight}``."""
    if scenarios is None:
        return dict(DEFAULT_MIX)
    if isinstance(scenarios, str):
        scenarios = [scenarios]
    if isinstance(scenarios, dict):
        mix = {_canonical(k): float(v) for k, v in scenarios.items()}
    else:
        mix = {_canonical(k): 1.0 for k in scenarios}
    if any(w < 0 for w in mix.values()) or not any(w > 0 for w in mix.values()):
        raise ValueError("scenario weights must be >= 0 with at least one > 0")
    return {k: v for k, v in mix.items() if v > 0}


def scenario_for(channel: str | None, exten: str | None = None) -> str | None:
    """The scenario an Originate starts: from ``Local/<exten>@internal`` (or None)."""
    if channel and channel.startswith("Local/"):
        target = channel[len("Local/") :].split("/", 1)[0]
        number, _, context = target.partition("@")
        if context in ("internal", "") and number in DIALPLAN:
            return DIALPLAN[number]
        return None
    if channel is None and exten in DIALPLAN:
        return DIALPLAN[exten]
    return None
