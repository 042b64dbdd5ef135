"""Scan: classify every column of a table and report what personal data it holds."""

from collections.abc import Callable
from typing import BinaryIO

import pyarrow.parquet as pq

from workbench.privacy.classify import DIRECT, FREE_TEXT, QUASI, classify_column

SAMPLE_ROWS = 20_000


def scan_parquet(open_source: Callable[[], BinaryIO], *, schema: list[dict]) -> dict:
    """Classify the columns of a stored table; `schema` holds the profile's semantic types."""
    types = {column["name"]: column["type"] for column in schema}
    with open_source() as src:
        parquet = pq.ParquetFile(src, pre_buffer=False)
        sample = next(parquet.iter_batches(batch_size=SAMPLE_ROWS), None)
    columns = (
        [] if sample is None else [classify_column(name, types.get(name, "text"), sample.column(name)) for name in sample.schema.names]
    )
    return {
        "columns": columns,
        "direct_identifiers": [c["name"] for c in columns if c["kind"] == DIRECT],
        "quasi_identifiers": [c["name"] for c in columns if c["kind"] == QUASI],
        "free_text": [c["name"] for c in columns if c["kind"] == FREE_TEXT],
        "sampled_rows": 0 if sample is None else sample.num_rows,
    }
