"""drop_noise, fold_dialplan, changes, collapse and the live Collapser on real captures."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import amikit
from amikit.analysis import (
    NOISE_EVENTS,
    Collapser,
    calls,
    changes,
    collapse,
    drop_noise,
    fold_dialplan,
)
from amikit.analysis._collapse import PER_DELIVERY
from amikit.protocol import Message
from amikit.record._schema import message_row, rows_to_frame

from .conftest import KINDS, MIXED60, SAMPLES, capture_messages, frame


def test_drop_noise_default_set(mixed60: pl.DataFrame) -> None:
    quiet = drop_noise(mixed60)
    left = set(quiet["event"])
    assert not left & {"VarSet", "Newexten", "DeviceStateChange", "SuccessfulAuth"}
    assert {"Newchannel", "DialBegin", "BridgeEnter", "Hangup"} <= left
    # responses are never noise
    assert quiet.filter(pl.col("kind") == "response").height == 2
    assert "RTCP*" in NOISE_EVENTS
    assert quiet.height < mixed60.height * 0.6
    # noise removal does not change the calls
    events = mixed60.filter(~pl.col("event").is_in(["Cdr", "CEL"]))
    assert_frame_equal(calls(drop_noise(events)).drop("n_events"), calls(events).drop("n_events"))


def test_drop_noise_extra_and_keep(mixed60: pl.DataFrame) -> None:
    kept = drop_noise(mixed60, keep=["Newexten"], extra=["CEL", "Cdr", "Dial*"])
    names = set(kept["event"])
    assert "Newexten" in names
    assert not names & {"VarSet", "CEL", "Cdr", "DialBegin", "DialEnd", "DialState"}
    assert isinstance(drop_noise(mixed60.lazy()), pl.LazyFrame)
    rtcp = pl.DataFrame({"kind": ["event"] * 3, "event": ["RTCPSent", "RTCPReceived", "Hold"]})
    assert drop_noise(rtcp)["event"].to_list() == ["Hold"]


def test_fold_dialplan_one_row_per_channel_step(mixed60: pl.DataFrame) -> None:
    folded = fold_dialplan(mixed60)
    dialplan = folded.filter(pl.col("event") == "Dialplan")
    raw = mixed60.filter(pl.col("event").is_in(["Newexten", "VarSet"]))
    global_vars = raw.filter(pl.col("Uniqueid").is_null() & pl.col("Channel").is_null()).height
    assert dialplan["folded"].sum() + global_vars == raw.height
    assert folded.height == mixed60.height - raw.height + global_vars + dialplan.height
    assert dialplan.height < raw.height / 3
    assert set(folded["event"]) - {"Dialplan"} <= set(mixed60["event"])
    # the variable flood call: its Set() loop is in one row, in order
    flood = dialplan.filter(pl.col("variables").list.contains("LOOPVAR_1=value-1")).row(
        0, named=True
    )
    loop = [v for v in flood["variables"] if v.startswith("LOOPVAR_")]
    assert loop[:3] == ["LOOPVAR_1=value-1", "LOOPVAR_2=value-2", "LOOPVAR_3=value-3"]
    assert any(a.startswith("MSet(") for a in flood["applications"])
    # other rows untouched, order kept
    others = folded.filter(pl.col("event") != "Dialplan").drop(
        "applications", "variables", "folded", "last"
    )
    assert global_vars == 0
    assert_frame_equal(others, mixed60.filter(~pl.col("event").is_in(["Newexten", "VarSet"])))


def test_changes_blanks_repeated_snapshot_fields() -> None:
    path = next(p for p in SAMPLES if p.name.startswith("01_"))
    df = frame(path)
    view = changes(df)
    assert view.height == df.height
    assert view["Channel"].to_list() == df["Channel"].to_list()
    by_chan = view.filter(pl.col("Uniqueid").is_not_null())
    firsts = by_chan.group_by("Uniqueid", maintain_order=True).first()
    assert firsts["Linkedid"].null_count() == 0  # first event shows everything
    later = by_chan.filter(pl.col("event") == "Hangup")
    assert later["Linkedid"].null_count() == later.height  # never changed
    assert later["Cause"].null_count() == 0
    newstate = by_chan.filter(pl.col("event") == "Newstate")
    assert all("ChannelState" in c for c in newstate["changed"])
    # fewer non-null cells: the repeated information is gone
    cells = lambda f: sum(f[c].drop_nulls().len() for c in f.columns if c[0].isupper())  # noqa: E731
    assert cells(view) < cells(df) * 0.6


def _as_second_session(messages: list[Message]) -> list[Message]:
    copies = []
    for m in messages:
        c = Message(m.raw)
        c.connection = 2
        copies.append(c)
    return copies


def _rows(messages: list[Message], server: str, connection: int) -> list[dict]:
    return [
        message_row(m, server=server, connection=connection, seq=i)
        for i, m in enumerate(messages, 1)
    ]


def _interleave(a: list, b: list, lag: int = 7) -> list:
    """b runs ``lag`` items behind a, as a second session of the same server would."""
    out = []
    for i in range(max(len(a), len(b) + lag)):
        if i < len(a):
            out.append(a[i])
        if 0 <= i - lag < len(b):
            out.append(b[i - lag])
    return out


CONTENT = lambda f: f.drop([c for c in f.columns if c in PER_DELIVERY])  # noqa: E731


@pytest.mark.parametrize(
    "path", [MIXED60, *KINDS[:2], SAMPLES[0], SAMPLES[-2]], ids=lambda p: p.stem[:20]
)
def test_collapse_interleaved_and_concatenated_sessions(path: Path) -> None:
    messages = capture_messages(path)
    one = rows_to_frame(_rows(messages, "pbx", 1))
    single = collapse(one)
    # two sessions recorded together, interleaved
    both = rows_to_frame(_interleave(_rows(messages, "pbx", 1), _rows(messages, "pbx", 2)))
    assert both.height == 2 * one.height
    assert_frame_equal(CONTENT(collapse(both)), CONTENT(single))
    # the same recording loaded twice and concatenated
    twice = pl.concat([one, one])
    assert_frame_equal(collapse(twice), single)
    # collapse does not change the calls
    if "Linkedid" in one.columns and path == MIXED60:
        assert calls(collapse(both)).height == calls(one).height


def test_collapse_folds_runs_of_repeats_with_count_first_last() -> None:
    path = next(p for p in SAMPLES if p.name.startswith("01_"))
    one = frame(path)
    hangup = one.filter(pl.col("event") == "Hangup").head(1)
    t0 = hangup["timestamp"][0] or pl.datetime(2026, 1, 1, time_zone="UTC")
    repeated = pl.concat([hangup] * 3).with_columns(
        pl.Series("received_at", [None, None, None], dtype=pl.Datetime("us", "UTC")),
        pl.Series("seq", [100, 101, 102], dtype=pl.Int64),
    )
    stamps = pl.datetime_range(
        pl.datetime(2026, 1, 1, 0, 0, 0, time_zone="UTC"),
        pl.datetime(2026, 1, 1, 0, 0, 2, time_zone="UTC"),
        "1s",
        eager=True,
    )
    repeated = repeated.with_columns(stamps.alias("timestamp"))
    out = collapse(repeated)
    assert out.height == 1
    row = out.row(0, named=True)
    assert row["count"] == 3
    assert row["first"] == stamps[0]
    assert row["last"] == stamps[2]
    assert t0 is not None


def test_real_repeats_in_mixed60(mixed60: pl.DataFrame) -> None:
    out = collapse(mixed60)
    repeats = out.filter(pl.col("count") > 1)
    assert set(repeats["event"]) == {"DeviceStateChange", "DialEnd"}
    assert out["count"].sum() == mixed60.height
    assert (repeats["last"] >= repeats["first"]).all()


@pytest.mark.parametrize("path", [MIXED60, KINDS[0], SAMPLES[0]], ids=lambda p: p.stem[:20])
def test_collapser_applies_the_same_rules_live(path: Path) -> None:
    first = capture_messages(path)
    second = _as_second_session(capture_messages(path))
    stream = _interleave(
        [(m, "pbx", i) for i, m in enumerate(first, 1)],
        [(m, "pbx", i) for i, m in enumerate(second, 1)],
    )
    collapser = Collapser()
    kept = []
    for message, server, seq in stream:
        result = collapser.feed(message, stream=server, seq=seq)
        if result.status == "new":
            kept.append(result.item)
        elif result.status == "repeat":
            assert result.item is kept[-1]
        else:
            assert result.item is None
    rows = [message_row(m, server=s, connection=m.connection or 1, seq=q) for m, s, q in stream]
    batch = collapse(rows_to_frame(rows))
    assert [k.count for k in kept] == batch["count"].to_list()
    assert [k.message.name for k in kept] == batch["event"].to_list()
    assert [k.last for k in kept] == batch["last"].to_list()
    # a file fed twice in the same session is one delivery recorded twice
    again = Collapser()
    statuses = [again.feed(m, seq=i).status for _ in range(2) for i, m in enumerate(first, 1)]
    assert statuses[len(first) :].count("duplicate") == len(first)
    assert amikit.Collapser is Collapser
