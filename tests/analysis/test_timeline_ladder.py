"""timeline() sentences and the ladder diagram of real calls."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit.analysis import calls, drop_noise, fold_dialplan, ladder, timeline

from .conftest import MIXED60, SAMPLES, frame


def sample(prefix: str) -> pl.DataFrame:
    return frame(next(p for p in SAMPLES if p.name.startswith(prefix)))


def test_timeline_tells_the_story_of_an_answered_call() -> None:
    df = sample("01_")
    call_id = calls(df)["call_id"][0]
    tl = timeline(drop_noise(df), call_id)
    text = tl["text"].to_list()
    assert "PJSIP/1986 dials PJSIP/21" in text
    assert "PJSIP/21 is ringing" in text
    assert "PJSIP/21 answers PJSIP/1986" in text
    assert "PJSIP/21 and PJSIP/1986 bridged" in text
    assert "PJSIP/21 hangs up: Normal Clearing (16)" in text
    assert tl.columns[:7] == ["offset", "time", "event", "channel", "who", "text", "call_id"]
    # raw fields follow
    assert {"Uniqueid", "Linkedid", "extra"} <= set(tl.columns)
    assert tl["call_id"].unique().to_list() == [call_id]


def test_timeline_offsets_from_server_timestamps(mixed60: pl.DataFrame) -> None:
    events = mixed60.filter(~pl.col("event").is_in(["Cdr", "CEL"]))
    summary = calls(events)
    row = summary.filter(pl.col("dialed") == "200").row(0, named=True)
    tl = timeline(events, row["call_id"])
    assert tl["offset"][0] == 0.0
    assert tl["offset"].is_sorted() or tl["offset"].max() <= row["duration"] + 1
    assert tl["offset"].max() == pytest.approx((tl["time"].max() - row["start"]).total_seconds())
    # Local halves kept apart by default (their events would read as duplicates), folded on
    # request
    assert tl["channel"].drop_nulls().str.ends_with(";2").any()
    assert tl["who"].drop_nulls().str.ends_with(";1").any()
    assert any(t.startswith("Local/200@internal;2 ") for t in tl["text"])
    folded = timeline(events, row["call_id"], fold_local=True)
    assert not folded["channel"].drop_nulls().str.ends_with(";1").any()
    # any uniqueid of the call finds it
    other = next(u for u in tl["Uniqueid"].drop_nulls() if u != row["call_id"])
    assert timeline(events, other).height == tl.height


def test_timeline_busy_and_folded_dialplan() -> None:
    df = sample("20_")
    tl = timeline(fold_dialplan(df), calls(df)["call_id"][0])
    assert any("hangs up: User busy (17)" in t for t in tl["text"])
    assert any(t.startswith("SIP/150010002 runs ") for t in tl["text"])
    assert tl.height < df.height / 2


def test_timeline_unknown_call_is_a_usage_error() -> None:
    with pytest.raises(amikit.UsageError, match="no event of call"):
        timeline(sample("01_"), "no-such-call")
    assert isinstance(timeline(sample("01_").lazy(), "x"), pl.LazyFrame)


def test_ladder_columns_arrows_and_renderings(tmp_path: Path) -> None:
    df = sample("12_")
    call_id = calls(df)["call_id"][0]
    diagram = ladder(df, call_id)
    assert diagram.columns[0] == "SIP/150010001"
    assert len(diagram.columns) == 5
    labels = [(s.src, s.dst, s.label) for s in diagram.steps]
    assert ("SIP/150010001", diagram.columns[1], "Dial") in labels
    assert any(label == "ANSWER" for _, _, label in labels)
    assert any(label == "attended transfer" for _, _, label in labels)
    svg = diagram._repr_svg_()
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    assert "<script" not in svg.lower()
    assert svg.count("marker-end") == sum(1 for s in diagram.steps if s.dst)
    html = diagram._repr_html_()
    assert "<svg" in html and "<script" not in html.lower()
    text = str(diagram)
    assert "Dial" in text and "SIP/150010003" in text and "--" in text
    assert "Ladder" in repr(diagram)
    saved = diagram.save(tmp_path / "call.svg")
    assert ET.parse(saved).getroot().tag.endswith("svg")
    page = diagram.save(tmp_path / "call.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    with pytest.raises(amikit.UsageError):
        diagram.save(tmp_path / "call.png")


def test_ladder_of_an_originated_call_has_an_originate_column(mixed60: pl.DataFrame) -> None:
    call_id = calls(mixed60)["call_id"][0]
    diagram = ladder(mixed60, call_id)
    assert diagram.columns[0] == "(originate)"
    assert diagram.steps[0].offset is not None and diagram.steps[0].offset < 0.01
    assert "0.000s" in str(diagram) or "0.001s" in str(diagram)
    assert ladder(mixed60, call_id, fold_local=False).columns != diagram.columns
    assert amikit.ladder is ladder
    assert MIXED60.exists()


def test_ladder_titles_say_caller_callee_start_and_outcome(
    mixed60: pl.DataFrame, tmp_path: Path
) -> None:
    summary = calls(mixed60)
    for disposition in ("ANSWERED", "BUSY"):
        row = summary.filter(pl.col("disposition") == disposition).row(0, named=True)
        diagram = ladder(mixed60, row["call_id"])
        start = f"{row['start']:%Y-%m-%d %H:%M:%S}"
        expected = (
            f"call {row['call_id']}: {row['caller_num']} → {row['dialed']}, {start}, {disposition}"
        )
        assert diagram.title == expected
        assert str(diagram).splitlines()[0] == expected
        assert expected in diagram.to_svg()
        assert f"<title>{expected}</title>" in diagram.save(tmp_path / "c.html").read_text()
