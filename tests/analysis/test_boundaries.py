"""Calls as they really are: cut by the recording, split by restarts, sessions and servers.

Issue 11. A recording starts and stops in the middle of traffic and may span a PBX restart:
the calls it cut are flagged (``joined_late``, ``in_progress``) and nothing is guessed for
them; the calls it saw whole are exactly what a full recording gives, and still agree
with Asterisk's CDR; no call joins channels across a restart, a session or a server.
"""

from __future__ import annotations

import threading
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import amikit
from amikit import AMIClient
from amikit.analysis import (
    CallTracker,
    calls,
    ladder,
    stats,
    timeline,
    with_call_id,
    with_epoch,
)
from amikit.analysis._rules import LINK_KEYS, PLACEHOLDER_IDS
from amikit.cli import main
from amikit.protocol import Message
from amikit.record import convert
from amikit.record._convert import AlreadyConvertedError, source_session
from amikit.record._recorder import RecordingSink
from amikit.record._schema import message_row, rows_to_frame
from amikit.sim import PBX
from tests.conftest import DATA

from .conftest import KINDS, MIXED60, SAMPLES, capture_messages, frame
from .test_calls import agreement

# where the capture is cut: fractions of its events, head (recording started late) and
# tail (recording stopped early)
CUTS = (0.1, 0.25, 0.5, 0.75, 0.9)
# what a call seen whole must still share with Asterisk's CDR
CDR_CHECKS = ("matched", "disposition", "answered", "start", "end")


def mixed60_rows() -> list[dict[str, Any]]:
    rows = [message_row(m, seq=i) for i, m in enumerate(capture_messages(MIXED60), 1)]
    return [r for r in rows if r["event"] not in ("Cdr", "CEL")]


def tracked(frame: pl.DataFrame) -> pl.DataFrame:
    tracker = CallTracker()
    for row in frame.iter_rows(named=True):
        tracker.feed_row(row)
    return tracker.calls()


def whole(summary: pl.DataFrame) -> pl.DataFrame:
    return summary.filter(~pl.col("in_progress") & ~pl.col("joined_late"))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return mixed60_rows()


@pytest.fixture(scope="module")
def uncut(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return calls(rows_to_frame(rows))


def split_calls(rows: list[dict[str, Any]], at: int) -> set[str]:
    """The calls with events on both sides of row ``at`` of the full capture."""
    tagged = with_call_id(rows_to_frame(rows)).with_row_index("_i")
    span = (
        tagged.filter(pl.col("call_id").is_not_null())
        .group_by("call_id")
        .agg(pl.col("_i").min().alias("lo"), pl.col("_i").max().alias("hi"))
    )
    return set(span.filter((pl.col("lo") < at) & (pl.col("hi") >= at))["call_id"])


@pytest.mark.parametrize("fraction", CUTS)
def test_cut_capture_flags_every_cut_call_and_keeps_every_whole_one(
    rows: list[dict[str, Any]], uncut: pl.DataFrame, fraction: float
) -> None:
    at = int(len(rows) * fraction)
    cut = split_calls(rows, at)
    assert cut  # every cut point falls while calls are up
    assert uncut.filter(pl.col("in_progress") | pl.col("joined_late")).height == 0
    head = calls(rows_to_frame(rows[at:]))  # the recording started late
    tail = calls(rows_to_frame(rows[:at]))  # the recording stopped early
    assert set(head.filter(pl.col("joined_late"))["call_id"]) == cut
    assert head["in_progress"].sum() == 0
    assert set(tail.filter(pl.col("in_progress"))["call_id"]) == cut
    assert tail["joined_late"].sum() == 0
    # nothing guessed for an unfinished call; what was seen stays
    unfinished = tail.filter(pl.col("in_progress"))
    for name in ("end", "duration", "billsec", "disposition"):
        assert unfinished[name].null_count() == unfinished.height
    assert unfinished.filter(pl.col("answer").is_not_null())["answered"].all()
    # a late call starts when first seen
    late = head.filter(pl.col("joined_late")).join(uncut, on="call_id", suffix="_full")
    assert (late["start"] >= late["start_full"]).all()
    # every whole call is exactly the uncut one, and agrees with the CDR
    for part in (head, tail):
        seen = whole(part)
        assert seen.height == part.height - len(cut)
        same = uncut.filter(pl.col("call_id").is_in(seen["call_id"].implode()))
        assert seen.sort("call_id").equals(same.sort("call_id"))
        figures = agreement(seen)
        assert figures["ami_calls"] == seen.height
        assert all(figures[k] == seen.height for k in CDR_CHECKS)
        # the live tracker says the same
        assert tracked(rows_to_frame(rows[at:] if part is head else rows[:at])).equals(part)


def test_stats_count_unfinished_calls_apart(rows: list[dict[str, Any]]) -> None:
    at = int(len(rows) * 0.5)
    summary = calls(rows_to_frame(rows[at : at + len(rows) // 4]))
    n_late = summary["joined_late"].sum()
    n_open = summary["in_progress"].sum()
    assert n_late and n_open
    table = stats(summary)
    overall = table.filter(pl.col("by") == "all").row(0, named=True)
    finished = whole(summary)
    assert overall["calls"] == finished.height
    assert overall["in_progress"] == n_open
    assert (
        overall["joined_late"]
        == summary.filter(pl.col("joined_late") & ~pl.col("in_progress")).height
    )
    assert overall["answered"] == finished["answered"].sum()
    assert overall["mean_duration"] == pytest.approx(finished["duration"].mean())
    causes = table.filter(pl.col("by") == "hangup_cause")
    assert causes["calls"].sum() == finished.height
    dispositions = table.filter(pl.col("by") == "disposition")
    assert set(dispositions["key"]) <= {"ANSWERED", "NO ANSWER", "BUSY", "FAILED"}


class Events:
    """Every event a client delivers; lets a test wait for a condition (no sleeps)."""

    def __init__(self) -> None:
        self.items: list[Message] = []
        self._cond = threading.Condition()

    def __call__(self, msg: Message) -> None:
        with self._cond:
            self.items.append(msg)
            self._cond.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> Any:
        with self._cond:
            found: list[Any] = []

            def check() -> bool:
                found[:] = [predicate(self.items)]
                return bool(found[0])

            assert self._cond.wait_for(check, timeout), "the simulated PBX did not get there"
            return found[0]

    def new_call(self, after: int) -> tuple[str, int]:
        """``(Linkedid, index)`` of the first new call from index ``after`` on."""

        def first(items: list[Message]) -> tuple[str, int] | None:
            for i in range(after, len(items)):
                m = items[i]
                # a call's first channel is the one whose Uniqueid is its Linkedid
                if m.name == "Newchannel" and m["Uniqueid"] == m["Linkedid"]:
                    return items[i]["Linkedid"], i
            return None

        return self.wait_for(first)

    def ended(self, linkedid: str, after: int) -> None:
        """Wait until every channel of the call created from ``after`` on has hung up."""

        def done(items: list[Message]) -> bool:
            made = {m["Uniqueid"] for m in items[after:] if m.name == "Newchannel"}
            gone = {m["Uniqueid"] for m in items[after:] if m.name == "Hangup"}
            mine = {m["Uniqueid"] for m in items[after:] if m.get("Linkedid") == linkedid}
            return bool(mine) and (mine & made) <= gone

        self.wait_for(done)


def test_recording_across_a_pbx_restart(tmp_path) -> None:
    """Starts while a call is up, spans a restart (Local names repeat), stops mid-call."""
    with PBX(calls_per_minute=0, seed=7, speed=3.0) as pbx:
        client = AMIClient(
            "127.0.0.1", pbx.port, "admin", "amikit", timeout=5.0, backoff=(0.05, 0.2)
        )
        events = Events()
        states: list[Any] = []
        back = threading.Event()

        def on_connection(state: Any) -> None:
            states.append(state)
            if state.kind == "reconnected":
                back.set()

        client.on("*", events, thread="loop")
        client.on_connection(on_connection)
        with client:
            pbx.call("hold")  # up before the recording starts, cut by the restart
            before, _ = events.new_call(0)
            with amikit.Recorder(client, tmp_path / "rec"):
                mark = len(events.items)
                pbx.call("answered")  # seen whole, before the restart
                first, at = events.new_call(mark)
                events.ended(first, at)
                pbx.restart()
                assert back.wait(10)
                mark = len(events.items)
                pbx.call("hold")  # still up when the recording stops; the names of `before`
                last, at = events.new_call(mark)
                mark = len(events.items)
                pbx.call("answered")  # seen whole, after: the Local names of `first`
                again, at = events.new_call(mark)
                events.ended(again, at)
    frame = amikit.load(tmp_path / "rec")
    summary = calls(frame)
    flags = {
        r["call_id"]: (r["joined_late"], r["in_progress"], r["epoch"])
        for r in summary.iter_rows(named=True)
    }
    assert flags == {
        before: (True, True, 0),
        first: (False, False, 0),
        again: (False, False, 1),
        last: (False, True, 1),
    }
    # the restart reused the Local channel names; no call holds channels of both runs
    by_epoch = with_epoch(frame).filter(pl.col("Channel").str.starts_with("Local/"))
    names = [set(by_epoch.filter(pl.col("epoch") == e)["Channel"]) for e in (0, 1)]
    assert names[0] & names[1]
    tagged = with_call_id(with_epoch(frame)).filter(pl.col("call_id").is_not_null())
    spans = tagged.group_by("call_id").agg(pl.col("epoch").n_unique().alias("n"))
    assert spans["n"].max() == 1
    # the timeline of a call after the restart holds none of the old run's channels
    after = set(with_epoch(frame).filter(pl.col("epoch") == 1)["Uniqueid"].drop_nulls())
    shown = set(timeline(frame, again)["Uniqueid"].drop_nulls())
    assert shown and shown <= after
    assert summary["server"].unique().to_list() == [f"127.0.0.1:{pbx.port}"]
    assert tracked(frame).equals(summary)
    # a reconnect without a restart keeps the epoch and the call
    assert with_epoch(frame.filter(pl.col("connection") == 1))["epoch"].max() == 0


def test_a_reconnect_without_restart_keeps_the_call(tmp_path) -> None:
    with PBX(calls_per_minute=0, seed=3, speed=3.0) as pbx:
        client = AMIClient(
            "127.0.0.1", pbx.port, "admin", "amikit", timeout=5.0, backoff=(0.05, 0.2)
        )
        events = Events()
        back = threading.Event()
        client.on("*", events, thread="loop")
        client.on_connection(lambda state: back.set() if state.kind == "reconnected" else None)
        with client, amikit.Recorder(client, tmp_path / "rec"):
            pbx.call("hold")
            call_id, at = events.new_call(0)
            pbx.server.drop_connections()  # a network blip: the PBX keeps running
            assert back.wait(10)
            events.ended(call_id, at)
    frame = amikit.load(tmp_path / "rec")
    assert frame.filter(pl.col("kind") == "gap").height == 1
    assert with_epoch(frame)["epoch"].unique().to_list() == [0]
    summary = calls(frame)
    assert summary["call_id"].to_list() == [call_id]
    assert summary["epoch"].to_list() == [0]
    hangups = frame.filter((pl.col("event") == "Hangup") & (pl.col("connection") == 2))
    assert hangups.height  # the call went on after the reconnect, in the same call
    assert tracked(frame).equals(summary)


def test_sessions_appended_to_one_folder_never_mix(tmp_path, caplog, uncut) -> None:
    """The same capture recorded twice into one folder (same Uniqueids): two sessions."""
    messages = capture_messages(MIXED60)
    sinks = []
    for _ in range(2):
        with RecordingSink(tmp_path, server="pbx:5038") as sink:
            for m in messages:
                sink.put(m)
        sinks.append(sink)
    assert [s.appended for s in sinks] == [False, True]
    assert sinks[0].session != sinks[1].session
    assert f"appending as a new session {sinks[1].session}" in caplog.text
    frame = amikit.load(tmp_path).filter(~pl.col("event").is_in(["Cdr", "CEL"]))
    summary = calls(frame)
    assert summary.height == 2 * uncut.height
    keep = [c for c in uncut.columns if c not in ("server", "session")]
    for sink in sinks:
        mine = summary.filter(pl.col("session") == sink.session)
        assert mine.select(keep).equals(uncut.select(keep))
    assert tracked(frame).equals(summary)
    # the text log, appended to, knows its sessions too
    text = amikit.load(tmp_path / "ami-log.txt")
    assert text["session"].to_list() == amikit.load(tmp_path)["session"].to_list()


def test_servers_in_one_dataset_never_mix(tmp_path, uncut) -> None:
    messages = capture_messages(MIXED60)
    for name in ("east", "west"):
        with RecordingSink(tmp_path, server=name, text=False) as sink:
            for m in messages:
                sink.put(m)
    frame = amikit.load(tmp_path).filter(~pl.col("event").is_in(["Cdr", "CEL"]))
    summary = calls(frame)
    assert summary.group_by("server").len().sort("server").rows() == [
        ("east", uncut.height),
        ("west", uncut.height),
    ]
    assert tracked(frame).equals(summary)


def test_one_capture_converted_twice_is_refused(tmp_path) -> None:
    first = convert(MIXED60, tmp_path / "ds")
    rows = amikit.load(tmp_path / "ds").height
    assert rows == first.frames
    copy = tmp_path / "same-bytes-other-name.raw"
    copy.write_bytes(MIXED60.read_bytes())
    for source in (MIXED60, copy):
        with pytest.raises(AlreadyConvertedError, match="already holds"):
            convert(source, tmp_path / "ds")
    assert amikit.load(tmp_path / "ds").height == rows  # never doubled
    sessions = amikit.load(tmp_path / "ds")["session"].unique().to_list()
    assert sessions == [source_session(MIXED60)]


def test_every_view_says_in_progress_and_joined_late(tmp_path, rows, capsys) -> None:
    """A recording cut at both ends, as the CLI, rich display, ladder and board show it."""
    messages = capture_messages(MIXED60)
    middle = messages[2000:4000]
    capture = tmp_path / "middle.raw"
    capture.write_bytes(b"".join(m.raw for m in middle))
    frame = amikit.load(capture)
    summary = calls(frame)
    unfinished = summary.filter(pl.col("in_progress"))
    late = summary.filter(pl.col("joined_late") & ~pl.col("in_progress"))
    assert unfinished.height and late.height

    assert main(["calls", str(capture)]) == 0
    out = capsys.readouterr().out
    for line in out.splitlines():
        for call_id in unfinished["call_id"]:
            if f" {call_id} " in line:
                assert "in progress" in line and "FAILED" not in line and "0.0s" not in line
                assert "Clearing" not in line  # a leg's hangup is not the call's end
        for call_id in late["call_id"]:
            if f" {call_id} " in line:
                assert "joined late" in line
    assert f"{unfinished.height} in progress" in out

    from amikit.jupyter._display import calls_html, calls_text

    text, html = calls_text(summary, max_rows=1000), calls_html(summary, max_rows=1000)
    assert text.count("in progress") == unfinished.height
    assert html.count("in progress") == unfinished.height
    assert "joined late" in text and "joined late" in html

    open_call = unfinished["call_id"][0]
    assert "in progress: the recording stopped" in str(ladder(frame, open_call))
    assert "joined late: it began" in ladder(frame, late["call_id"][0]).to_svg()
    done = whole(summary)["call_id"][0]
    assert str(ladder(frame, done)).splitlines()[0].startswith(f"call {done}: ")
    assert "(" not in str(ladder(frame, done)).splitlines()[0]  # nothing unseen to note


def test_call_board_shows_cut_calls_as_they_are(rows) -> None:
    from amikit.jupyter import CallBoard

    frame = rows_to_frame(rows[2000:4000])
    summary = calls(frame)
    board = CallBoard(frame, recent=100)
    board.flush()
    active = {c["call_id"]: c for c in board.active_calls()}
    assert set(active) == set(summary.filter(pl.col("in_progress"))["call_id"])
    assert all(c["disposition"] is None for c in active.values())
    finished = board.finished_calls()
    assert {c["call_id"] for c in finished} == set(
        summary.filter(~pl.col("in_progress"))["call_id"]
    )
    late = summary.filter(pl.col("joined_late"))["call_id"].to_list()
    html = board._active_html.value + board._finished_html.value
    assert html.count("joined late") == len(late)
    assert "FAILED" not in board._active_html.value


def restarted(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> pl.DataFrame:
    """``first`` on connection 1, a gap, then ``second`` on connection 2 after a restart."""
    from amikit.record._schema import gap_row

    before = [{**r, "connection": 1} for r in first]
    lost = gap_row(
        received_at=None,
        server=None,
        connection=2,
        gap_start=None,
        gap_end=None,
        reason="connection lost",
    )
    after = [{**r, "connection": 2} for r in second]
    return rows_to_frame([*before, lost, *after])


def test_real_capture_across_a_restart_with_every_id_repeated(
    rows: list[dict[str, Any]], uncut: pl.DataFrame
) -> None:
    """Joined mid-call, the PBX restarted and ran the same calls again (same Uniqueids,
    same Local names), stopped mid-call: each run's calls are exactly its own."""
    head, tail = int(len(rows) * 0.25), int(len(rows) * 0.75)
    frame = restarted(rows[head:], rows[:tail])
    summary = calls(frame)
    assert sorted(summary["epoch"].unique().to_list()) == [0, 1]
    for epoch, part in ((0, rows[head:]), (1, rows[:tail])):
        mine = summary.filter(pl.col("epoch") == epoch).drop("epoch")
        alone = calls(rows_to_frame([{**r, "connection": 1} for r in part])).drop("epoch")
        assert mine.equals(alone)
        seen = whole(mine)
        figures = agreement(seen)
        assert seen.height
        assert all(figures[k] == seen.height for k in CDR_CHECKS)
    late = summary.filter(pl.col("joined_late"))
    unfinished = summary.filter(pl.col("in_progress"))
    assert set(late["epoch"]) == {0} and set(unfinished["epoch"]) == {1}
    assert set(late["call_id"]) == split_calls(rows, head)
    assert set(unfinished["call_id"]) == split_calls(rows, tail)
    assert tracked(frame).equals(summary)


def test_amikit_calls_names_no_hangup_cause_for_a_call_still_up(tmp_path, capsys) -> None:
    """A leg that hung up (a ring group's "Answered elsewhere") is not the call's end:
    the table shows no cause for a call the recording saw still up."""
    capture = tmp_path / "head.raw"
    capture.write_bytes(b"".join(m.raw for m in capture_messages(MIXED60)[:950]))
    summary = calls(amikit.load(capture))
    open_with_cause = summary.filter(pl.col("in_progress") & pl.col("hangup_cause").is_not_null())
    assert open_with_cause.height  # the cut leaves such a call
    assert main(["calls", str(capture)]) == 0
    out = capsys.readouterr().out
    for call_id, text in open_with_cause.select("call_id", "hangup_cause_txt").rows():
        line = next(x for x in out.splitlines() if f" {call_id} " in x)
        assert "in progress" in line and text not in line


def retagged(events: pl.DataFrame, tag: str) -> pl.DataFrame:
    """The events with every channel and bridge id prefixed by ``tag``; names unchanged."""
    ids = [c for c in events.columns if c.lower() in LINK_KEYS or c == "BridgeUniqueid"]
    keep = sorted(PLACEHOLDER_IDS)
    key, value = pl.element().struct.field("key"), pl.element().struct.field("value")
    return events.with_columns(
        *[
            pl.when(pl.col(c).is_in(keep)).then(pl.col(c)).otherwise(tag + pl.col(c)).alias(c)
            for c in ids
        ],
        pl.col("extra").list.eval(
            pl.struct(
                key,
                pl.when(key.str.to_lowercase().is_in(sorted(LINK_KEYS)) & ~value.is_in(keep))
                .then(tag + value)
                .otherwise(value)
                .alias("value"),
            )
        ),
    )


def _local_halves_by_name_only() -> pl.DataFrame:
    """Sample 06 with nothing but the Local channel names to pair the halves (Rule 2)."""
    df = frame(next(p for p in SAMPLES if p.name.startswith("06_")))
    df = df.filter(pl.col("event") != "LocalBridge")
    return df.with_columns(
        *[
            pl.lit(None, dtype=pl.String).alias(c)
            for c in df.columns
            if c.endswith("Linkedid") or c.startswith("LocalOne") or c.startswith("LocalTwo")
        ],
        pl.col("extra").list.eval(
            pl.element().filter(pl.element().struct.field("key") != "SwapUniqueid")
        ),
    )


def _transcript(path: Any) -> pl.DataFrame:
    messages = capture_messages(path)
    return rows_to_frame(message_row(m, seq=i) for i, m in enumerate(messages, 1))


SAME_NAMES = {
    **{p.name: (lambda p=p: frame(p)) for p in [MIXED60, *KINDS, *SAMPLES]},
    # AMI 1.x: 260 events found by channel name alone, and a masquerade (Rule 5)
    "asterisk11-masquerade": lambda: _transcript(
        DATA / "ami-samples" / "protocol" / "originate_with_events.txt"
    ),
    "local-halves-by-name-only": _local_halves_by_name_only,
}


@pytest.mark.parametrize("tag", ["", "b-"], ids=["same-ids", "other-ids"])
@pytest.mark.parametrize("case", sorted(SAME_NAMES))
def test_two_servers_with_the_same_names_interleaved(case: str, tag: str) -> None:
    """Grouping all scopes in one pass never lets one server's ids, channel names
    (AMI 1.x name lookups, Local ``;1``/``;2`` pairs) or bridges reach another's: two
    servers sending the same events, row for row, with the same channel names and the
    same ids (or other ids), each get the calls they get alone."""
    events = SAME_NAMES[case]()
    servers = {
        "a": events.with_columns(pl.lit("a").alias("server")),
        "b": retagged(events, tag).with_columns(pl.lit("b").alias("server")),
    }
    alone = {s: calls(e) for s, e in servers.items()}
    both = (
        pl.concat(
            [
                e.with_columns((pl.int_range(pl.len()) * 2 + i).alias("_o"))
                for i, e in enumerate(servers.values())
            ]
        )
        .sort("_o")
        .drop("_o")
    )
    together = calls(both)
    assert together.height == 2 * alone["a"].height > 0
    for s in ("a", "b"):
        assert_frame_equal(together.filter(pl.col("server") == s), alone[s])
