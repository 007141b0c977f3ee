"""AMI text to rows of the recording layout, in bulk, with polars string expressions.

Strategy
--------
The codec (:class:`~amikit.protocol.Parser` + :func:`~amikit.record._schema.message_row`) is
the reference, but it costs a Python call per message. Here a whole buffer is handled at
once:

1. the text is decoded once (UTF-8, U+FFFD for bad bytes; decoding is the same per frame or
   per buffer because frames are cut at ASCII bytes) and cut into frames at the terminator
   (``\\r\\n\\r\\n`` or ``\\n\\n``) by polars;
2. frames are cut into lines (exploding a (frame, lines) table, so each line carries its frame
   number for free), and the lines are dictionary-encoded with a private categorical: AMI
   repeats itself (2-10 % of the lines of a real capture are distinct: Privilege, states,
   contexts, the ids of a call), so every string operation below runs once per *distinct*
   line. The private category set numbers the distinct lines densely in order of first
   appearance, so its list of strings is the dictionary and a line's physical code indexes
   it (no ``unique`` + inverse map over all lines);
3. a distinct line is cut into ``key``/``value`` on the first colon, the value's leading
   blanks stripped (codec Rule 1); the keys that feed columns (``Event``, ``ActionID``,
   ``Timestamp`` and every wide column) get small integer codes through an ``Enum`` cast;
4. the first line of each (frame, code) is found by scattering line numbers in *reverse*
   order into a dense code-major ``code * frames + frame`` table (the last write wins, so
   the first line wins); one gather turns the whole table into values and each wide column
   is a zero-copy slice of it. Empty slots point one past the last line, at a null value,
   so neither gather sees a null index (polars' fast path; ~3x cheaper than ~90 gathers
   with nulls);
5. every other line goes to ``extra`` (a list of ``{key, value}``), in order: one group-by
   over *all* lines (sorted by frame) keeping the unconsumed ones, so every frame gets its
   list, empty ones included, without a scatter/gather of lists afterwards.

One coding of the rules
-----------------------
This module and the codec (``message_row``) are the only two codings of the recording layout
(:mod:`amikit.record._schema`; ``docs/recording-layout.md``), and the fallback rules below are
written only here: a C splitter that repeated them was removed (issue 14) for a build that is
portable and a single place to change a rule. For ``convert`` (``categorical=True``) the
string columns are handed over as polars categoricals of the same strings, which the Parquet
writer encodes for less.

Cost (``benchmarks/bench_record.py``, a 123 MB capture on a shared 2-core machine): 1.1-1.5
CPU-s per 100 MB (sequential, one polars thread; 1.5-1.9 before the dense dictionary, the
single value table and the spare-row scatter). The Parquet writer takes 0.75-0.9 CPU-s on the
same rows. What remains is per-line work polars does natively (splitting, hashing the lines,
the scatter, the value table, the ``extra`` group-by); the Python code runs per buffer, never
per message or per distinct line.

Rule 1: the result is exactly what the codec gives, row for row. A frame this path cannot
        reproduce exactly is handed to the codec instead ("fallback"), decided per frame:
        a frame starting with stray CR/LF, a bare LF inside a CRLF frame (the codec's
        byte-level lookup could see a header after it), a case variant of ``Event``,
        ``Response`` or ``Action`` (the codec's lookup is case-insensitive), ``Response:
        Follows`` (old Command output), the legacy ``ChanVariable(chan:with:colons):`` key,
        or a ``Timestamp`` that is not plain ``digits[.digits]`` (an empty one included).
Rule 2: the decision to route a whole buffer through the codec is taken for things that
        change how frames are cut: old-style ``Response: Follows`` frames (their body may
        hold blank lines) and U+FFFD in the decoded text (byte offsets would shift).
Rule 3: frames the codec rejects (no ``Key: value`` line at all, or larger than
        ``max_frame_size``) are dropped here too and counted in ``errors``.

The equality with the codec is tested on every real capture in ``tests/data``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..protocol import DEFAULT_MAX_FRAME_SIZE, Message, Parser, RemoteProtocolError
from ._schema import META_COLUMNS, WIDE_COLUMNS, message_row, polars_schema

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "ConvertStats",
    "frames_from_buffer",
    "rows_from_buffer",
    "rows_from_frames",
    "rows_from_messages",
]

# Codes: 0 Event, 1 ActionID, 2 Timestamp, 3 Response, 4 Action, then the wide columns
# (Response is also wide; its code is shared).
_SPECIAL = ("Event", "ActionID", "Timestamp", "Action")
_CODE_NAMES: tuple[str, ...] = _SPECIAL + WIDE_COLUMNS
_CODE = {name: i for i, name in enumerate(_CODE_NAMES)}
_K = len(_CODE_NAMES)
_WIDE_CODES = [(name, _CODE[name]) for name in WIDE_COLUMNS]
_NAME_KEYS = ("event", "response", "action")
_TIMESTAMP_RE = r"^[0-9]{1,12}(\.[0-9]{0,6})?$"
_FOLLOWS_HEAD = re.compile(rb"(?i)response:[ \t]{0,8}follows")
_SENTINEL = (1 << 32) - 1
_PIECE = 1 << 20  # polars splits faster on many ~1 MiB strings than on one huge string


@dataclass
class ConvertStats:
    """What a conversion saw: frames kept, frames routed to the codec, frames rejected."""

    frames: int = 0
    fallback: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: ConvertStats) -> None:
        self.frames += other.frames
        self.fallback += other.fallback
        self.errors += other.errors
        self.problems.extend(other.problems[:20])


def _enum() -> pl.Enum:
    import polars as pl

    return pl.Enum(list(_CODE_NAMES))


def _dictionary(line: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Dictionary-encode ``line``: (per line, its index in the distinct lines; distinct lines).

    AMI repeats itself: a real capture has 2-10 % distinct lines (Privilege, states,
    contexts, the ids of a call...), so every string operation of the converter runs once per
    distinct line. A private category set numbers its strings 0, 1, 2... in order of first
    appearance, so its string list *is* the distinct lines and a line's physical code indexes
    it directly (no ``unique`` + inverse map over all the lines). The mapping lives only as
    long as a column that uses it, hence ``cat`` is held until the list is taken.
    """
    import polars as pl

    categories = pl.Categories.random()
    cat = line.cast(pl.Categorical(categories))
    uid = cat.to_physical()
    uniq = categories.to_series()
    head = min(len(line), 64)
    top = int(uid.max() or 0)  # type: ignore[arg-type]  # polars types max() as any literal; int on an int column
    if len(uniq) == top + 1 and uniq.gather(uid.head(head)).equals(line.head(head)):
        return uid, uniq
    # Not numbered densely (a polars change?): the general, slower way.
    distinct = cat.unique()
    ids = distinct.to_physical()
    last = int(ids.max() or 0)  # type: ignore[arg-type]  # polars types max() as any literal; int on an int column
    inverse = pl.Series("inv", [0], dtype=pl.UInt32).extend_constant(0, last)
    inverse.scatter(ids, pl.int_range(len(ids), dtype=pl.UInt32, eager=True))
    return inverse.gather(uid), distinct.cast(pl.String)


def _pieces(text: str, term: str) -> list[str]:
    """Cut ``text`` (ending with ``term``) into ~1 MiB pieces at terminators.

    Each piece is a run of whole frames with the terminator of its last frame removed, so
    splitting a piece on ``term`` gives frames that were each followed by one.
    """
    out = []
    pos = 0
    n = len(text)
    tlen = len(term)
    while pos < n:
        end = text.find(term, pos + _PIECE)
        if end < 0:
            end = n - tlen
        out.append(text[pos:end])
        pos = end + tlen
    return out


def frames_from_buffer(text: str, term: str) -> tuple[pl.Series, pl.Series]:
    """Split decoded text (starting at a frame, ending with ``term``) into frame texts.

    Returns the frame texts and, for each, the offset just past its terminator (in UTF-8
    bytes of ``text``). Empty parts and parts made only of CR/LF are dropped; other parts
    keep any leading CR/LF (the row builder routes those frames to the codec).
    """
    import polars as pl

    parts = pl.Series("frame", _pieces(text, term), dtype=pl.String).str.split(term).explode()
    ends = (parts.str.len_bytes().cast(pl.Int64) + len(term)).cum_sum()
    # only a part that starts with CR or LF can be made of nothing else
    stray = parts.str.starts_with("\r") | parts.str.starts_with("\n")
    keep = (parts.str.len_bytes() > 0) & ~stray
    if stray.any():
        keep = keep | (stray & (parts.str.strip_chars("\r\n") != ""))
    return parts.filter(keep), ends.filter(keep)


def rows_from_frames(
    frames: pl.Series,
    *,
    lf: bool = False,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ascii: bool = False,
    bare_lf: bool | None = None,
) -> tuple[pl.DataFrame, pl.Series, ConvertStats]:
    """Rows for frame texts (no terminator). Returns (rows, fallback frame numbers, stats).

    ``rows`` has a ``frame`` column (position in ``frames``) and the layout's columns
    except ``received_at``, ``server``, ``connection`` and ``seq``. Frames listed in the
    returned fallback series are absent from ``rows`` and must go through the codec;
    rejected frames (Rule 3) are absent from both.

    ``ascii=True`` promises that the frames are ASCII (then a cheaper split is used);
    ``bare_lf=False`` promises that no LF without CR occurs in a CRLF stream (None: look).
    """
    import polars as pl

    stats = ConvertStats()
    eol = "\n" if lf else "\r\n"
    n_frames = len(frames)
    u32 = pl.UInt32
    frames_idx = pl.int_range(n_frames, dtype=u32, eager=True)
    if n_frames == 0:
        empty = _empty_rows()
        return empty, pl.Series("frame", [], dtype=u32), stats
    # Eager Series operations: for these element-wise steps they cost less than a query.
    # exploding a frame repeats the frame number along with each line: no repeat_by needed
    lines = pl.DataFrame({"frame": frames_idx, "line": frames.str.split(eol)}).explode("line")
    frame_of_line = lines["frame"]
    uid, uniq = _dictionary(lines["line"])
    if ascii:
        # byte offset == character offset: slice at the colon (cheaper than splitn)
        colon = uniq.str.find(":", literal=True)
        key_u = uniq.str.slice(0, colon)
        value_u = uniq.str.slice(colon + 1)
    else:
        parts = uniq.str.splitn(":", 2).struct
        key_u = parts.field("field_0")
        value_u = parts.field("field_1")
    value_u = value_u.str.strip_chars_start(" \t")
    key_u = key_u.set(value_u.is_null(), None)  # type: ignore[arg-type]  # no colon
    code_u = key_u.cast(_enum(), strict=False).to_physical()
    kv = pl.DataFrame(
        {
            "frame": frame_of_line.set_sorted(),  # group_by then takes its sorted fast path
            "uid": uid,
            # lines without a code go to an extra, never-read row of the table (_K)
            "code": code_u.fill_null(_K).gather(uid),
            "header": key_u.is_not_null().gather(uid),
        }
    )
    n_lines = kv.height
    pos = pl.int_range(n_lines, dtype=u32, eager=True)

    def frames_with(bad_u: pl.Series) -> pl.Series:
        ids = pl.int_range(len(uniq), dtype=u32, eager=True).filter(bad_u.fill_null(False))
        if len(ids) == 0:
            return pl.Series("frame", [], dtype=u32)
        return kv.filter(pl.col("uid").is_in(ids.implode()))["frame"].unique()

    # -- frames the codec must handle (Rule 1) or reject (Rule 3) --------------------------
    odd_frames = [frames_idx.filter(frames.str.starts_with("\r") | frames.str.starts_with("\n"))]
    if not lf and bare_lf is not False:
        # after the split on CRLF, any LF left is a bare one
        odd_frames.append(frames_with(uniq.str.contains("\n", literal=True)))
    unknown_u = code_u.is_null() & key_u.is_not_null()
    odd_frames.append(
        frames_with(
            unknown_u
            & (
                key_u.str.to_lowercase().is_in(list(_NAME_KEYS))
                | (key_u.str.contains("(", literal=True) & ~key_u.str.contains(")", literal=True))
            )
        )
    )
    sizes = frames.str.len_bytes()
    with_header = kv.filter(pl.col("header"))["frame"].unique()
    bad = sizes.cast(pl.Int64) > max_frame_size
    rejected = pl.int_range(n_frames, dtype=u32, eager=True).filter(bad)
    if len(with_header) != n_frames:
        has = pl.Series([False], dtype=pl.Boolean).extend_constant(False, n_frames - 1)
        has.scatter(with_header, True)
        rejected = pl.int_range(n_frames, dtype=u32, eager=True).filter(bad | ~has)
    if len(rejected):
        stats.errors += len(rejected)
        stats.problems.append(f"dropped {len(rejected)} frame(s) with no header or too big")

    # -- first line of each (frame, code): reverse scatter, first one wins ----------------
    # code-major: each column's slots are one contiguous run of the table
    wide = pl.UInt32 if (_K + 1) * n_frames < 1 << 32 else pl.UInt64
    slot = kv["code"].cast(wide) * n_frames + kv["frame"].cast(wide)
    # An empty slot holds n_lines: one past the last line, a line whose value is null.
    # (Gathers without null indices take polars' fast path.)
    dense = pl.Series("dense", [n_lines], dtype=u32).extend_constant(
        n_lines, n_frames * (_K + 1) - 1
    )
    dense.scatter(slot.reverse(), pos.reverse())
    owner = dense.gather(slot)
    # Timestamp and Action feed columns but their lines also stay in extra (the layout)
    consumable_u = code_u.is_not_null() & ~code_u.is_in([_CODE["Timestamp"], _CODE["Action"]])
    consumed = (owner == pos) & consumable_u.gather(uid)

    # Every column at once: one gather fills the whole code-major table with values, and
    # each column is a zero-copy slice of it (one call instead of ~90 small ones).
    value_ext = value_u.extend_constant(None, 1).rechunk()
    uid_ext = uid.extend_constant(len(uniq), 1).rechunk()
    table = value_ext.gather(uid_ext.gather(dense))

    def column(code: int) -> pl.Series:
        return table.slice(code * n_frames, n_frames)

    columns: dict[str, Any] = {"frame": pl.int_range(n_frames, dtype=u32, eager=True)}
    columns["_event"] = column(_CODE["Event"])
    columns["_response"] = column(_CODE["Response"])
    columns["_action"] = column(_CODE["Action"])
    columns["action_id"] = column(_CODE["ActionID"])
    columns["_timestamp"] = column(_CODE["Timestamp"])
    for name, code in _WIDE_CODES:
        columns[name] = column(code).alias(name)

    # -- extra: everything not consumed, in order ----------------------------------------
    # Grouping *all* lines (sorted by frame, every frame has one) and dropping the consumed
    # ones inside the group gives every frame its list, empty ones included, in frame order:
    # no scatter/gather of lists afterwards.
    columns["extra"] = (
        pl.DataFrame(
            {
                "frame": frame_of_line,
                "key": key_u.gather(uid),
                "value": value_u.gather(uid),
                "rest": kv["header"] & ~consumed,
            }
        )
        .lazy()
        .group_by("frame", maintain_order=True)
        .agg(pl.struct("key", "value").filter(pl.col("rest")).alias("extra"))
        .collect()["extra"]
    )

    utc = pl.Datetime("us", "UTC")
    stamp = pl.col("_timestamp")
    rows = (
        pl.DataFrame(columns)
        .lazy()
        .with_columns(
            pl.when(pl.col("_event").is_not_null())
            .then(pl.lit("event"))
            .when(pl.col("_response").is_not_null())
            .then(pl.lit("response"))
            .otherwise(pl.lit("action"))
            .alias("kind"),
            pl.coalesce(
                pl.col("_event"),
                pl.when(pl.col("_response") != "").then(pl.col("_response")),
                pl.when(pl.col("_action") != "").then(pl.col("_action")),
                pl.lit(""),
            ).alias("event"),
            pl.when(stamp.str.contains(_TIMESTAMP_RE))
            .then((stamp.cast(pl.Float64) * 1_000_000).round().cast(pl.Int64))
            .cast(utc)
            .alias("timestamp"),
            # Old Command output framed as a plain frame (the codec adds its stray lines to
            # extra) and timestamps that need Python's float(): the codec does these. So does
            # an empty first Timestamp: the codec then takes the next one that parses.
            (
                (pl.col("_response") == "Follows")
                | (stamp.is_not_null() & ~stamp.str.contains(_TIMESTAMP_RE))
            )
            .fill_null(False)
            .alias("_late"),
        )
        .collect()
    )
    late = rows["frame"].filter(rows["_late"])
    fallback = pl.concat([*(f.cast(u32) for f in odd_frames), late]).unique().sort()
    fallback = fallback.filter(~fallback.is_in(rejected.implode()))
    drop = pl.concat([fallback, rejected]).unique()
    if len(drop):
        rows = rows.filter(~pl.col("frame").is_in(drop.implode()))
    stats.frames = rows.height + len(fallback)
    stats.fallback = len(fallback)
    keep = ["frame", *(c for c in META_COLUMNS if c in rows.columns), *WIDE_COLUMNS, "extra"]
    return rows.select(keep), fallback, stats


def _finish(
    rows: pl.DataFrame, codec_rows: list[dict[str, Any]], codec_frames: list[int]
) -> pl.DataFrame:
    """Merge vectorised rows and codec rows by frame number; full schema plus ``frame``."""
    import polars as pl

    schema = polars_schema()
    parts = [
        rows.with_columns(
            *(pl.lit(None, dtype=schema[c]).alias(c) for c in schema if c not in rows.columns)
        ).select("frame", *schema)
    ]
    if codec_rows:
        from ._schema import rows_to_frame

        extra = rows_to_frame(codec_rows).with_columns(
            pl.Series("frame", codec_frames, dtype=pl.UInt32)
        )
        parts.append(extra.select("frame", *schema))
    out = pl.concat(parts)
    if codec_rows:
        out = out.sort("frame")
    return out


def _codec_rows(raws: Sequence[bytes], lf: bool) -> list[dict[str, Any]]:
    """Rows for complete frames through the codec (the line ending fixed first)."""
    term = b"\n\n" if lf else b"\r\n\r\n"
    out = []
    for raw in raws:
        parser = Parser(banner=False, max_frame_size=1 << 40)
        parser.feed(b"X: y" + term)  # fixes the line ending (codec Rule 3)
        msgs = parser.feed(raw)
        if len(msgs) != 1:
            raise AssertionError("codec fallback expects exactly one frame")
        out.append(message_row(msgs[0]))
    return out


def rows_from_messages(messages: Sequence[Message]) -> pl.DataFrame:
    """Rows for messages the codec produced, in order (the live recorder's batch path).

    Equal to ``[message_row(m) for m in messages]`` (metadata columns null), built in bulk.
    Returns the full schema plus ``frame`` (index into ``messages``).
    """
    if not messages:
        return _finish(_empty_rows(), [], [])
    raws = [m.raw for m in messages]
    lf = not raws[0].endswith(b"\r\n\r\n")
    term = b"\n\n" if lf else b"\r\n\r\n"
    joined = b"".join(raws)
    if (
        b"ollows" in joined
        or joined.count(term) != len(raws)
        or (not joined.isascii() and b"\xef\xbf\xbd" in joined)
    ):
        return _rows_per_message(messages, raws, lf)
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError:
        return _rows_per_message(messages, raws, lf)
    frames, _ = frames_from_buffer(text, term.decode())
    if len(frames) != len(raws):
        return _rows_per_message(messages, raws, lf)
    rows, fallback, _ = rows_from_frames(
        frames, lf=lf, max_frame_size=1 << 40, ascii=joined.isascii()
    )
    idx = fallback.to_list()
    return _finish(rows, [message_row(messages[i]) for i in idx], idx)


def _rows_per_message(messages: Sequence[Message], raws: Sequence[bytes], lf: bool) -> pl.DataFrame:
    import polars as pl

    term = b"\n\n" if lf else b"\r\n\r\n"
    simple: list[int] = []
    codec: list[int] = []
    for i, raw in enumerate(raws):
        if (
            not raw.endswith(term)
            or raw.count(term) != 1
            or b"ollows" in raw
            or b"\xef\xbf\xbd" in raw
        ):
            codec.append(i)
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            codec.append(i)
        else:
            simple.append(i)
    t = term.decode()
    texts = pl.Series(
        "frame", [raws[i].decode("utf-8").removesuffix(t) for i in simple], dtype=pl.String
    )
    rows, fallback, _ = rows_from_frames(texts, lf=lf, max_frame_size=1 << 40)
    mapping = pl.Series("frame", simple, dtype=pl.UInt32)
    rows = rows.with_columns(mapping.gather(rows["frame"]).alias("frame"))
    codec_idx = sorted(codec + [simple[j] for j in fallback.to_list()])
    return _finish(rows, [message_row(messages[i]) for i in codec_idx], codec_idx)


def rows_from_buffer(
    data: bytes | bytearray,
    *,
    lf: bool,
    follows: bool,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    categorical: bool = False,
) -> tuple[pl.DataFrame, int, ConvertStats]:
    """Rows for the complete frames at the start of ``data`` (which starts at a frame).

    ``follows`` says whether the codec would use its old-Command-output framing for the
    stream this buffer comes from (``b"Follows" + eol`` anywhere in it). With
    ``categorical`` ``action_id`` and the wide columns come as categoricals of the same
    strings, which the Parquet writer encodes for less (convert
    uses it; a String frame is what every other caller gets).

    Returns ``(rows, consumed, stats)``: the rows (full schema plus ``frame``, the frame's
    number within this call, and ``_end``, the byte offset in ``data`` just past the
    frame), how many bytes of ``data`` were used (the rest is an incomplete frame), and
    stats.
    """

    if categorical:
        rows, used, stats = rows_from_buffer(
            data, lf=lf, follows=follows, max_frame_size=max_frame_size
        )
        return _as_categoricals(rows), used, stats
    term = b"\n\n" if lf else b"\r\n\r\n"
    stats = ConvertStats()
    if follows and _FOLLOWS_HEAD.search(data):
        return _rows_via_codec(data, lf, max_frame_size, stats)
    cut = data.rfind(term)
    cut = cut + len(term) if cut >= 0 else 0
    if cut == 0:
        return _with_end(_finish(_empty_rows(), [], []), []), 0, stats
    whole = data if cut == len(data) else data[:cut]  # the converter passes whole frames
    text = whole.decode("utf-8", "replace")
    if "\ufffd" in text:
        return _rows_via_codec(bytes(whole), lf, max_frame_size, stats)
    frames, ends = frames_from_buffer(text, term.decode())
    rows, fallback, stats = rows_from_frames(
        frames, lf=lf, max_frame_size=max_frame_size, ascii=whole.isascii()
    )
    idx = fallback.to_list()
    codec = []
    if idx:
        codec = _codec_rows([frames[i].encode("utf-8").lstrip(b"\r\n") + term for i in idx], lf)
    out = _finish(rows, codec, idx)
    out = out.with_columns(ends.gather(out["frame"]).alias("_end"))
    return out, cut, stats


# The string columns handed over as categoricals for ``convert``.
_CODED = ("action_id", *WIDE_COLUMNS)


def _as_categoricals(rows: pl.DataFrame) -> pl.DataFrame:
    """``action_id`` and the wide columns as categoricals of the same strings and nulls, in a
    fresh private category set (freed with the columns, not polars' global one)."""
    import polars as pl

    return rows.with_columns(pl.col(_CODED).cast(pl.Categorical(pl.Categories.random())))


def _with_end(rows: pl.DataFrame, ends: list[int]) -> pl.DataFrame:
    import polars as pl

    return rows.with_columns(pl.Series("_end", ends, dtype=pl.Int64))


def _rows_via_codec(
    data: bytes | bytearray, lf: bool, max_frame_size: int, stats: ConvertStats
) -> tuple[pl.DataFrame, int, ConvertStats]:
    term = b"\n\n" if lf else b"\r\n\r\n"
    parser = Parser(banner=False, max_frame_size=max_frame_size)
    parser.feed(b"X: y" + term)
    try:
        msgs = parser.feed(data)
    except RemoteProtocolError as exc:
        msgs = exc.messages
        stats.errors += parser.errors
        stats.problems.append(str(exc))
    consumed = len(data) - parser.buffered
    ends = []
    pos = 0
    for m in msgs:
        start = data.find(m.raw, pos)
        pos = start + len(m.raw)
        ends.append(pos)
    out = _with_end(rows_from_messages(msgs), ends)
    stats.frames += len(msgs)
    stats.fallback += len(msgs)
    return out, consumed, stats


def _empty_rows() -> pl.DataFrame:
    import polars as pl

    schema = {"frame": pl.UInt32(), **polars_schema()}
    return pl.DataFrame(schema=schema).drop(["received_at", "server", "connection", "seq"])
