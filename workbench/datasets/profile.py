"""Profile: per-column statistics and charts, table-level duplicates; and the semantic column types."""

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


def profile_parquet(open_source: Callable[[], BinaryIO], *, progress: Progress = _no_progress) -> dict:
    """Profile a Parquet table read from `src`, one column at a time, to bound memory.

    Duplicate rows are counted from a 64-bit hash per row, combined column by column, so the
    table is never held whole; a collision would need about 2**32 rows to be likely.
    """
    started = time.monotonic()
    with open_source() as src:
        metadata = pq.ParquetFile(src, pre_buffer=False).metadata
    names, rows = metadata.schema.to_arrow_schema().names, metadata.num_rows
    row_hashes = np.zeros(rows, dtype=np.uint64)
    readers = threading.local()

    def one(name: str) -> tuple[dict, np.ndarray]:
        if not hasattr(readers, "parquet"):
            # A reader per thread: a ParquetFile and its file position are not shareable.
            readers.source = open_source()
            readers.parquet = pq.ParquetFile(readers.source, pre_buffer=False)
            opened.append(readers.source)
        parquet = readers.parquet
        if _is_text(parquet.schema_arrow.field(name).type):
            return _profile_text_column(parquet, name, rows)
        column = parquet.read(columns=[name]).column(0)
        return profile_column(name, column), _hash_plain(column)

    # Two columns at a time: most of the work is in Arrow and numpy, which release the GIL.
    columns, opened = [], []
    try:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="profile") as pool:
            pending: deque = deque()
            for name in names + [None]:
                if name is not None:
                    pending.append(pool.submit(one, name))
                while pending and (len(pending) > 2 or name is None):  # at most two columns' hashes wait
                    profile, hashes = pending.popleft().result()
                    columns.append(profile)
                    row_hashes = (row_hashes * _PRIME) ^ hashes
                    progress(95.0 * len(columns) / len(names), f"Profiled column {len(columns)} of {len(names)}")
    finally:
        for source in opened:
            source.close()
    duplicates = rows - _count_distinct(row_hashes)
    return {
        "row_count": rows,
        "column_count": len(names),
        "duplicate_rows": duplicates,
        "columns": columns,
        "seconds": round(time.monotonic() - started, 3),
    }


_PRIME = np.uint64(1099511628211)
_NULL = np.uint64(0x9E3779B97F4A7C15)
BATCH_ROWS = 65_536
WORD_SAMPLE = 100_000


def _count_distinct(hashes: np.ndarray) -> int:
    """Distinct values of a hash array; sorting beats numpy's hash-based unique on millions of keys."""
    if len(hashes) == 0:
        return 0
    ordered = np.sort(hashes)
    return int(1 + np.count_nonzero(ordered[1:] != ordered[:-1]))


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads nearby integers over the whole 64-bit range."""
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def _hash_plain(column: pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash per value of a numeric, boolean or temporal column (nulls share one)."""
    kind = column.type
    if pa.types.is_boolean(kind):
        column = column.cast(pa.int8())
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        column = column.cast(pa.timestamp("us")).cast(pa.int64())
    if pa.types.is_floating(column.type):
        values = column.to_numpy().astype(np.float64)
        missing = np.isnan(values)
        bits = values.view(np.uint64)
    else:
        missing = column.is_null().to_numpy()
        bits = column.fill_null(0).cast(pa.int64()).to_numpy().view(np.uint64)
    hashed = _mix(bits)
    hashed[missing] = _NULL
    return hashed


def _profile_text_column(parquet: pq.ParquetFile, name: str, rows: int) -> tuple[dict, np.ndarray]:
    """Text in batches: lengths and hashes of every value, words from a sample, counts only for categories."""
    hashes = np.empty(rows, dtype=np.uint64)
    lengths, sample, missing, offset = [], [], 0, 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[name]):
        column = batch.column(0).cast(pa.string())
        size = len(column)
        chunk = pd.util.hash_array(column.to_numpy(zero_copy_only=False), categorize=False)
        chunk[column.is_null().to_numpy(zero_copy_only=False)] = _NULL
        hashes[offset : offset + size] = chunk
        missing += column.null_count
        valid = pc.drop_null(column)
        lengths.append(pc.utf8_length(valid).to_numpy())
        if sum(len(part) for part in sample) < WORD_SAMPLE:
            sample.append(valid.slice(0, WORD_SAMPLE))
        offset += size
    non_null = rows - missing
    distinct = _count_distinct(hashes[hashes != _NULL] if missing else hashes)
    length = np.concatenate(lengths) if lengths else np.array([], dtype=np.int32)
    mean_len = float(length.mean()) if len(length) else 0.0
    mean_words = _mean_words(pa.concat_arrays(sample)) if sample else 0.0
    kind = _string_type(non_null, distinct, distinct / non_null if non_null else 0.0, mean_len, mean_words, name)
    result = {
        "name": name,
        "arrow": "string",
        "missing": int(missing),
        "missing_share": round(missing / rows, 4) if rows else 0.0,
        "distinct": distinct,
        "type": kind,
        "length": {
            "min": int(length.min()) if len(length) else None,
            "mean": round(mean_len, 2),
            "max": int(length.max()) if len(length) else None,
        },
    }
    if kind == "category":
        result.update(_category_counts(parquet, name))
    elif kind == "text" and len(length):
        counts, edges = np.histogram(length, bins=BINS)
        result["chart"] = charts.histogram(edges=edges.tolist(), counts=counts.tolist(), x_title="length in characters")
    return result, hashes


def _mean_words(values: pa.Array) -> float:
    if len(values) == 0:
        return 0.0
    words = pc.add(pc.count_substring_regex(pc.utf8_trim_whitespace(values), r"\s+"), 1)
    return float(pc.mean(words).as_py() or 0.0)


def _category_counts(parquet: pq.ParquetFile, name: str) -> dict:
    totals: dict[str, int] = {}
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[name]):
        for item in pc.value_counts(pc.drop_null(batch.column(0).cast(pa.string()))).to_pylist():
            totals[item["values"]] = totals.get(item["values"], 0) + item["counts"]
    ranked = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))
    shown = ranked[:CHART_BARS]
    return {
        "top": [{"value": value, "count": count} for value, count in ranked[:TOP_N]],
        "chart": charts.bars(labels=[value[:40] for value, _ in shown], counts=[count for _, count in shown]),
    }


def profile_column(name: str, column: pa.ChunkedArray) -> dict:
    """Statistics of one numeric, boolean or temporal column held in memory."""
    total = len(column)
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        result = _numeric_stats(column, name)
        result["type"] = _numeric_type(kind, name, result)
        if result["type"] == "id":
            result.pop("chart", None)
        return result
    missing = column.null_count
    distinct = pc.count_distinct(column, mode="only_valid").as_py() if total > missing else 0
    result = {"name": name, "arrow": str(kind), "missing": int(missing), "missing_share": _share(missing, total), "distinct": int(distinct)}
    if pa.types.is_boolean(kind):
        result.update(_bool_stats(column))
        result["type"] = "bool"
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        result.update(_date_stats(column))
        result["type"] = result.pop("_date_type")
    else:
        raise ValueError(f"unsupported column type {kind}")
    return result


def _share(part: int, total: int) -> float:
    return round(part / total, 4) if total else 0.0


def _numeric_type(kind, name: str, stats: dict) -> str:
    if pa.types.is_floating(kind):
        return "float"
    non_null = stats["count"]
    unique = non_null > 0 and stats["distinct"] == non_null
    sequence = unique and stats["max"] - stats["min"] + 1 == non_null
    if unique and non_null >= 20 and (ID_NAME.search(name) or sequence):
        return "id"
    return "int"


def _numeric_stats(column: pa.ChunkedArray, name: str) -> dict:
    """One sort gives distinct values, quantiles, extremes and the histogram's range."""
    values = pc.drop_null(column).to_numpy().astype("float64", copy=False)
    ordered = np.sort(values)
    finite = ordered[np.isfinite(ordered)]
    missing = len(column) - len(finite)
    stats = {
        "name": name,
        "arrow": str(column.type),
        "missing": int(missing),
        "missing_share": _share(missing, len(column)),
        "distinct": int(1 + np.count_nonzero(finite[1:] != finite[:-1])) if len(finite) else 0,
        "count": int(len(finite)),
        "min": None,
        "max": None,
    }
    if len(finite) == 0:
        return stats
    quantiles = _sorted_quantiles(finite)
    counts, edges = np.histogram(finite, bins=min(BINS, stats["distinct"]))
    stats.update(
        {
            "min": _num(finite[0]),
            "max": _num(finite[-1]),
            "mean": _num(finite.mean()),
            "std": _num(finite.std(ddof=1)) if len(finite) > 1 else None,
            "quantiles": {f"p{int(q * 100):02d}": _num(v) for q, v in zip(QUANTILES, quantiles)},
            "histogram": {"edges": [float(e) for e in edges], "counts": counts.tolist()},
            "chart": charts.histogram(edges=edges.tolist(), counts=counts.tolist(), x_title=name),
        }
    )
    return stats


def _sorted_quantiles(ordered: np.ndarray) -> np.ndarray:
    """numpy's default (linear) quantiles, read off an already sorted array."""
    positions = np.array(QUANTILES) * (len(ordered) - 1)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (positions - low)


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
