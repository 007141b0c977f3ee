"""Recording AMI traffic (raw text log, Parquet dataset) and loading it as polars frames."""

from ._schema import META_COLUMNS, WIDE_COLUMNS, message_pairs, message_row, polars_schema

__all__ = ["META_COLUMNS", "WIDE_COLUMNS", "message_pairs", "message_row", "polars_schema"]
