"""Call grouping and call summaries against real captures and Asterisk's own CDR."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import amikit
from amikit.analysis import calls, with_call_id

from .conftest import KINDS, MIXED60, MIXED60_CDR, SAMPLES, capture_messages, frame

CDR_COLUMNS = [
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
]


def cdr_truth() -> pl.DataFrame:
    """Per Linkedid: CDR min(start), max(end), any ANSWERED, first channel's disposition.

    Master.csv has no linkedid column; Asterisk's own CEL records in the same capture
    give each CDR uniqueid its LinkedID.
    """
    linkedid = {
        m.get("UniqueID"): m.get("LinkedID") for m in capture_messages(MIXED60) if m.name == "CEL"
    }
    cdr = pl.read_csv(MIXED60_CDR, has_header=False, new_columns=CDR_COLUMNS, infer_schema=False)
    cdr = cdr.with_columns(
        pl.col("uniqueid").replace_strict(linkedid).alias("linkedid"),
        pl.col("start").str.to_datetime(time_zone="UTC"),
        pl.col("end").str.to_datetime(time_zone="UTC"),
    )
    return cdr.group_by("linkedid").agg(
        pl.col("start").min().alias("cdr_start"),
        pl.col("end").max().alias("cdr_end"),
        (pl.col("disposition") == "ANSWERED").any().alias("cdr_answered"),
        pl.col("disposition")
        .filter(pl.col("uniqueid") == pl.col("linkedid"))
        .first()
        .alias("cdr_disposition"),
    )


def agreement(summary: pl.DataFrame) -> dict[str, int]:
    truth = cdr_truth()
    joined = truth.join(summary, left_on="linkedid", right_on="call_id", how="full")
    within = pl.duration(seconds=1)
    return {
        "cdr_calls": truth.height,
        "ami_calls": summary.height,
        "matched": joined.filter(
            pl.col("linkedid").is_not_null() & pl.col("call_id").is_not_null()
        ).height,
        "disposition": joined.filter(pl.col("disposition") == pl.col("cdr_disposition")).height,
        "answered": joined.filter(pl.col("answered") == pl.col("cdr_answered")).height,
        "start": joined.filter((pl.col("start") - pl.col("cdr_start")).abs() <= within).height,
        # CDR times are whole seconds (truncated), AMI times have microseconds.
        "end": joined.filter((pl.col("end") - pl.col("cdr_end")).abs() <= within).height,
    }


def test_mixed60_calls_agree_with_asterisk_cdr(mixed60: pl.DataFrame) -> None:
    events = mixed60.filter(~pl.col("event").is_in(["Cdr", "CEL"]))
    figures = agreement(calls(events))
    n = figures["cdr_calls"]
    assert n == 63
    assert figures == {
        "cdr_calls": n,
        "ami_calls": n,
        "matched": n,
        "disposition": n,
        "answered": n,
        "start": n,
        "end": n,
    }


def test_mixed60_call_ids_are_linkedids_and_every_call_event_is_grouped(
    mixed60: pl.DataFrame,
) -> None:
    events = mixed60.filter(~pl.col("event").is_in(["Cdr", "CEL"]))
    tagged = with_call_id(events)
    assert tagged.columns == [*events.columns, "call_id"]
    assert tagged.height == events.height
    # every event that names a real channel is in a call; the call is its Linkedid's
    with_lid = tagged.filter(pl.col("Linkedid").is_not_null())
    assert with_lid.filter(pl.col("call_id") != pl.col("Linkedid")).height == 0
    named = tagged.filter(pl.col("Uniqueid").is_not_null() & (pl.col("Uniqueid") != "none"))
    named = named.filter(pl.col("Uniqueid") != "<unknown>")
    assert named["call_id"].null_count() == 0
    # bridge-only events follow their bridge
    bridges = tagged.filter(pl.col("event").is_in(["BridgeCreate", "BridgeDestroy"]))
    assert bridges.height > 0
    assert bridges["call_id"].null_count() == 0


def test_mixed60_summary_columns(mixed60: pl.DataFrame) -> None:
    events = mixed60.filter(~pl.col("event").is_in(["Cdr", "CEL"]))
    summary = calls(events)
    for name in [
        "call_id", "linkedids", "start", "answer", "end", "duration", "billsec", "ring_time",
        "caller_num", "caller_name", "dialed", "answered_by", "answered", "disposition",
        "hangup_cause", "hangup_cause_txt", "hangup_by", "channels", "transfers", "queue",
        "queue_wait",
    ]:  # fmt: skip
        assert name in summary.columns
    assert summary["duration"].dtype == pl.Float64
    assert set(summary["disposition"]) == {"ANSWERED", "NO ANSWER", "BUSY", "FAILED"}
    unanswered = summary.filter(~pl.col("answered"))
    assert unanswered["answer"].null_count() == unanswered.height
    assert (unanswered["billsec"] == 0).all()
    answered = summary.filter(pl.col("answered"))
    assert (answered["billsec"] <= answered["duration"]).all()
    queued = summary.filter(pl.col("queue").is_not_null())
    assert set(queued["queue"]) == {"support"}
    assert queued["queue_wait"].drop_nulls().min() >= 0
    busy = summary.filter(pl.col("dialed") == "500")
    assert set(busy["disposition"]) == {"BUSY"}
    assert busy["caller_num"].to_list() == ["5550006", "5550026", "5550046"]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name[:2])
def test_every_sample_call_file_is_exactly_one_call(path: Path) -> None:
    summary = calls(frame(path))
    assert summary.height == 1
    tagged = with_call_id(frame(path))
    call_events = tagged.filter(pl.col("call_id").is_not_null())
    assert call_events["call_id"].n_unique() == 1


EXPECTED_SAMPLE_OUTCOMES = {
    "01": ("ANSWERED", 0),
    "03": ("NO ANSWER", 0),
    "04": ("NO ANSWER", 0),
    "06": ("ANSWERED", 0),
    "07": ("BUSY", 0),
    "09": ("NO ANSWER", 0),
    "10": ("ANSWERED", 0),
    "11": ("ANSWERED", 1),
    "12": ("ANSWERED", 1),
    "14": ("ANSWERED", 0),
    "17": ("ANSWERED", 0),
    "19": ("ANSWERED", 0),
    "20": ("BUSY", 0),
    "23": ("ANSWERED", 0),
}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name[:2])
def test_sample_outcomes(path: Path) -> None:
    row = calls(frame(path)).row(0, named=True)
    assert (row["disposition"], row["transfers"]) == EXPECTED_SAMPLE_OUTCOMES[path.name[:2]]


def test_attended_transfer_merges_the_consult_call() -> None:
    path = next(p for p in SAMPLES if p.name.startswith("12_"))
    row = calls(frame(path)).row(0, named=True)
    assert len(row["linkedids"]) == 2  # C's Linkedid changed to A's
    assert row["call_id"] == row["linkedids"][0]


def test_legacy_ami1_stream_without_linkedid_is_one_call() -> None:
    path = next(p for p in SAMPLES if p.name.startswith("20_"))
    df = frame(path)
    assert df["Linkedid"].null_count() == df.height
    row = calls(df).row(0, named=True)
    assert row["n_channels"] == 4
    assert row["disposition"] == "BUSY"
    assert row["hangup_cause"] == "17"


@pytest.mark.parametrize("path", KINDS, ids=lambda p: p.stem)
def test_each_kinds_capture_holds_two_calls(path: Path) -> None:
    summary = calls(frame(path))
    assert summary.height == 2
    assert summary["answered"].all()


def test_transfers_and_pickup_merge_linkedid_changes() -> None:
    for stem in ("atxfer_park", "pickup"):
        path = next(p for p in KINDS if p.stem == stem)
        df = frame(path)
        naive = df["Linkedid"].drop_nulls().n_unique()
        summary = calls(df)
        assert naive > summary.height == 2, stem


def test_lazy_in_lazy_out(mixed60: pl.DataFrame) -> None:
    lf = mixed60.lazy()
    out = calls(lf)
    assert isinstance(out, pl.LazyFrame)
    assert out.collect().height == calls(mixed60).height
    tagged = with_call_id(lf)
    assert isinstance(tagged, pl.LazyFrame)


def test_reexported_from_amikit() -> None:
    assert amikit.calls is calls
    assert amikit.with_call_id is with_call_id


def test_not_a_frame_is_a_usage_error() -> None:
    with pytest.raises(amikit.UsageError):
        calls([1, 2, 3])  # type: ignore[arg-type]


def test_events_after_a_hangup_stay_in_the_call() -> None:
    path = next(p for p in SAMPLES if p.name.startswith("14_"))
    tagged = with_call_id(frame(path)).with_row_index("i")
    hangups = (
        tagged.filter(pl.col("event") == "Hangup")
        .group_by("Uniqueid")
        .agg(pl.col("i").min().alias("hung_up_at"))
    )
    late = tagged.join(hangups, on="Uniqueid").filter(pl.col("i") > pl.col("hung_up_at"))
    assert late.height > 0  # e.g. NewConnectedLine after the Local;1 Hangup
    assert late["call_id"].null_count() == 0
    assert late["call_id"].n_unique() == 1


def test_local_halves_are_paired_by_name_without_any_other_link() -> None:
    path = next(p for p in SAMPLES if p.name.startswith("06_"))
    df = frame(path).filter(pl.col("event") != "LocalBridge")
    stripped = df.with_columns(
        *[
            pl.lit(None, dtype=pl.String).alias(c)
            for c in df.columns
            if c.endswith("Linkedid") or c.startswith("LocalOne") or c.startswith("LocalTwo")
        ],
        pl.col("extra").list.eval(
            pl.element().filter(pl.element().struct.field("key") != "SwapUniqueid")
        ),
    )
    assert calls(stripped).height == 1
    assert with_call_id(stripped)["call_id"].drop_nulls().n_unique() == 1
    # without the name rule nothing ties the halves together
    renamed = stripped.with_columns(pl.col("Channel").str.replace(";2", "-two"))
    assert calls(renamed).height == 2
