"""Free text, every row: a job's text columns split into chunks that several workers scan (and clean) at once.

The job writes each chunk of rows to its scratch folder, encrypted with the dataset's key; a Celery chord
runs `process_chunk` on every chunk, wherever a worker is free, and its closing task `gather`s the
results in row order. Nothing but chunk numbers travels through the broker or the result backend.
"""

import math
import os
import socket

from django.conf import settings

from workbench.jobs.actions import Attempt
from workbench.privacy.policy import find_entities, replace_entities
from workbench.storage import data_path, job_work_path, read_encrypted_json, write_encrypted_json


def _folder(attempt: Attempt) -> str:
    return job_work_path(attempt.job_id, f"attempt-{attempt.number}")


def _file(attempt: Attempt, name: str) -> str:
    return f"{_folder(attempt)}/{name}"


def chunk_count(rows: int) -> int:
    return max(1, math.ceil(rows / settings.PRIVACY_TEXT_CHUNK_ROWS))


def stage(
    attempt: Attempt, key: bytes, columns: dict[str, dict], *, known: list | None = None, avoid=frozenset(), state: dict | None = None
) -> int:
    """Write the chunks of `columns` (name -> {"texts": [...], "spans": [...] or None, "style": "tag"|"surrogate"|None})
    and whatever the closing task needs (`state`); returns the number of chunks.

    A column with a style is cleaned as well as scanned; spans given (from the version's scan) are not found again."""
    rows = len(next(iter(columns.values()))["texts"])
    size = settings.PRIVACY_TEXT_CHUNK_ROWS
    count = chunk_count(rows)
    for index in range(count):
        start, stop = index * size, (index + 1) * size
        piece = {
            name: {
                "texts": spec["texts"][start:stop],
                "spans": spec["spans"][start:stop] if spec.get("spans") else None,
                "style": spec.get("style"),
            }
            for name, spec in columns.items()
        }
        write_encrypted_json(
            _file(attempt, f"input-{index:05d}.json.enc"),
            key,
            {"start": start, "columns": piece, "known": known[start:stop] if known else None},
        )
    if any(spec.get("style") for spec in columns.values()):
        write_encrypted_json(_file(attempt, "avoid.json.enc"), key, sorted(avoid))
    write_encrypted_json(_file(attempt, "state.json.enc"), key, {"chunks": count, "rows": rows, **(state or {})})
    return count


def read_state(attempt: Attempt, key: bytes) -> dict:
    return read_encrypted_json(_file(attempt, "state.json.enc"), key)


def process_chunk(attempt: Attempt, index: int, key: bytes, *, secret: bytes) -> int:
    """Scan (and clean) one chunk; returns how many chunks of the job are done."""
    import pandas as pd

    source = _file(attempt, f"input-{index:05d}.json.enc")
    payload = read_encrypted_json(source, key)
    avoid = None
    out = {}
    for name, spec in payload["columns"].items():
        spans = spec["spans"] if spec["spans"] is not None else find_entities(spec["texts"])
        result = {"spans": spans}
        if spec["style"]:
            if avoid is None:
                avoid = frozenset(read_encrypted_json(_file(attempt, "avoid.json.enc"), key))
            cleaned = replace_entities(
                pd.Series(spec["texts"], dtype=object), secret=secret, style=spec["style"], known=payload["known"], avoid=avoid, spans=spans
            )
            result["texts"] = cleaned.tolist()
        out[name] = result
    worker = f"{socket.gethostname()}:{os.getpid()}"
    write_encrypted_json(_file(attempt, f"output-{index:05d}.json.enc"), key, {"worker": worker, "columns": out})
    data_path(source).unlink(missing_ok=True)
    return len(list(data_path(_folder(attempt)).glob("output-*.json.enc")))


def gather(attempt: Attempt, key: bytes, count: int) -> tuple[dict[str, dict], list[str]]:
    """Every chunk's results joined in row order (name -> {"spans": [...], "texts": [...] when cleaned}),
    and the workers that processed them."""
    joined: dict[str, dict] = {}
    workers = set()
    for index in range(count):
        output = read_encrypted_json(_file(attempt, f"output-{index:05d}.json.enc"), key)
        workers.add(output["worker"])
        for name, result in output["columns"].items():
            column = joined.setdefault(name, {})
            for field, values in result.items():
                column.setdefault(field, []).extend(values)
    return joined, sorted(workers)


def entity_counts(spans: list[list[dict]]) -> dict:
    """What the report says of a text column: rows scanned, rows with entities, spans per type."""
    per_type: dict[str, int] = {}
    for row in spans:
        for span in row:
            per_type[span["type"]] = per_type.get(span["type"], 0) + 1
    return {"rows_scanned": len(spans), "rows_with_entities": sum(1 for row in spans if row), "entities": per_type}
