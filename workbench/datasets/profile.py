"""Profile: per-column statistics and charts, table-level duplicates; and the semantic column types."""

import re
import time
from collections.abc import Callable
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workbench.datasets import charts

QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
ID_NAME = re.compile(r"(^|[_\s.])(id|ids|key|uuid|guid|mrn|nhs|ssn|number|no|num|code)$|^(id|rownames|index)$", re.I)
TOP_N = 10
CHART_BARS = 20
BINS = 30

Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    pass


def profile_parquet(src: BinaryIO, *, progress: Progress = _no_progress) -> dict:
    """Profile a Parquet table read from `src`, one column at a time to bound memory."""
    started = time.monotonic()
    parquet = pq.ParquetFile(src)
    names = parquet.schema_arrow.names
    rows = parquet.metadata.num_rows
    columns = []
    for position, name in enumerate(names):
        progress(90.0 * position / max(len(names), 1), f"Profiling column {position + 1} of {len(names)}")
        column = parquet.read(columns=[name]).column(0)
        columns.append(profile_column(name, column))
    progress(92.0, "Counting duplicate rows")
    duplicates = count_duplicate_rows(parquet)
    return {
        "row_count": rows,
        "column_count": len(names),
        "duplicate_rows": duplicates,
        "columns": columns,
        "seconds": round(time.monotonic() - started, 3),
    }


def count_duplicate_rows(parquet: pq.ParquetFile) -> int:
    hashes = [pd.util.hash_pandas_object(batch.to_pandas(), index=False).to_numpy() for batch in parquet.iter_batches(batch_size=262_144)]
    if not hashes:
        return 0
    joined = np.concatenate(hashes)
    return int(len(joined) - len(np.unique(joined)))


def profile_column(name: str, column: pa.ChunkedArray) -> dict:
    total = len(column)
    missing = column.null_count
    if pa.types.is_floating(column.type):
        missing += pc.sum(pc.is_nan(column)).as_py() or 0
    non_null = total - missing
    distinct = pc.count_distinct(column, mode="only_valid").as_py() if non_null else 0
    result = {
        "name": name,
        "arrow": str(column.type),
        "missing": int(missing),
        "missing_share": round(missing / total, 4) if total else 0.0,
        "distinct": int(distinct),
    }
    kind = column.type
    if pa.types.is_boolean(kind):
        result.update(_bool_stats(column))
        result["type"] = "bool"
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        result.update(_numeric_stats(column, name))
        result["type"] = _numeric_type(kind, name, column, non_null, distinct, result)
        if result["type"] == "id":
            result.pop("chart", None)
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        result.update(_date_stats(column))
        result["type"] = result.pop("_date_type")
    else:
        result.update(_string_stats(column, non_null, distinct, name))
    return result


def _numeric_type(kind, name, column, non_null, distinct, stats) -> str:
    if pa.types.is_floating(kind):
        return "float"
    unique = non_null > 0 and distinct == non_null
    sequence = unique and stats.get("max") is not None and stats["max"] - stats["min"] + 1 == non_null
    if unique and non_null >= 20 and (ID_NAME.search(name) or sequence):
        return "id"
    return "int"


def _finite(column: pa.ChunkedArray) -> np.ndarray:
    values = pc.drop_null(column).to_numpy().astype("float64", copy=False)
    return values[np.isfinite(values)]


def _numeric_stats(column: pa.ChunkedArray, name: str) -> dict:
    values = _finite(column)
    if len(values) == 0:
        return {"min": None, "max": None}
    quantiles = np.quantile(values, QUANTILES)
    counts, edges = np.histogram(values, bins=min(BINS, max(1, len(np.unique(values[:100_000])))))
    return {
        "min": _num(values.min()),
        "max": _num(values.max()),
        "mean": _num(values.mean()),
        "std": _num(values.std(ddof=1)) if len(values) > 1 else None,
        "quantiles": {f"p{int(q * 100):02d}": _num(v) for q, v in zip(QUANTILES, quantiles)},
        "histogram": {"edges": [float(e) for e in edges], "counts": counts.tolist()},
        "chart": charts.histogram(edges=edges.tolist(), counts=counts.tolist(), x_title=name),
    }


def _num(value) -> float | int:
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 6)


def _bool_stats(column: pa.ChunkedArray) -> dict:
    true = int(pc.sum(column).as_py() or 0)
    false = len(column) - column.null_count - true
    top = [{"value": "true", "count": true}, {"value": "false", "count": false}]
    return {"top": top, "chart": charts.bars(labels=["true", "false"], counts=[true, false])}


def _date_stats(column: pa.ChunkedArray) -> dict:
    seconds = pc.drop_null(column.cast(pa.timestamp("s"))).cast(pa.int64()).to_numpy()
    if len(seconds) == 0:
        return {"_date_type": "date", "min": None, "max": None}
    midnight = bool(np.all(seconds % 86400 == 0))
    counts, edges = np.histogram(seconds, bins=BINS)
    labels = [pd.Timestamp(int(e), unit="s").isoformat() for e in edges]
    fmt = "%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S"
    return {
        "_date_type": "date" if midnight else "datetime",
        "min": pd.Timestamp(int(seconds.min()), unit="s").strftime(fmt),
        "max": pd.Timestamp(int(seconds.max()), unit="s").strftime(fmt),
        "quantiles": {
            f"p{int(q * 100):02d}": pd.Timestamp(int(v), unit="s").strftime(fmt) for q, v in zip(QUANTILES, np.quantile(seconds, QUANTILES))
        },
        "chart": charts.date_histogram(edges=labels, counts=counts.tolist()),
    }


def _string_stats(column: pa.ChunkedArray, non_null: int, distinct: int, name: str) -> dict:
    strings = pc.drop_null(column.cast(pa.string()))
    lengths = pc.utf8_length(strings)
    words = pc.add(pc.count_substring_regex(pc.utf8_trim_whitespace(strings), r"\s+"), 1) if len(strings) else strings
    mean_len = pc.mean(lengths).as_py() or 0.0
    mean_words = pc.mean(words).as_py() or 0.0 if len(strings) else 0.0
    unique_ratio = distinct / non_null if non_null else 0.0
    kind = _string_type(non_null, distinct, unique_ratio, mean_len, mean_words, name)
    result = {
        "type": kind,
        "length": {
            "min": pc.min(lengths).as_py(),
            "mean": round(mean_len, 2),
            "max": pc.max(lengths).as_py(),
        },
    }
    if kind == "category":
        counts = pc.value_counts(strings).to_pylist()
        counts.sort(key=lambda item: (-item["counts"], str(item["values"])))
        result["top"] = [{"value": item["values"], "count": item["counts"]} for item in counts[:TOP_N]]
        shown = counts[:CHART_BARS]
        result["chart"] = charts.bars(labels=[str(i["values"])[:40] for i in shown], counts=[i["counts"] for i in shown])
    elif kind == "text" and len(strings):
        counts, edges = np.histogram(lengths.to_numpy(), bins=BINS)
        result["chart"] = charts.histogram(edges=edges.tolist(), counts=counts.tolist(), x_title="length in characters")
    return result


def _string_type(non_null: int, distinct: int, unique_ratio: float, mean_len: float, mean_words: float, name: str) -> str:
    if non_null == 0:
        return "text"
    if (distinct <= 50 and unique_ratio <= 0.5) or distinct <= 0.01 * non_null:
        return "category"
    if mean_words >= 5 or mean_len >= 60:
        return "text"
    if unique_ratio >= 0.9 and mean_words < 1.5:
        return "id"
    if ID_NAME.search(name) and unique_ratio >= 0.5:
        return "id"
    return "text"


def semantic_schema(profile: dict) -> list[dict]:
    return [{"name": c["name"], "type": c["type"], "arrow": c["arrow"]} for c in profile["columns"]]
