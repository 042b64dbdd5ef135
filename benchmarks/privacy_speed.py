"""Scan and anonymise speed on a 100,000-row table (12 structured columns and clinical notes), against
naive Presidio: AnalyzerEngine and AnonymizerEngine called on every cell, timed on a sample and scaled.

    .venv/bin/python benchmarks/privacy_speed.py [--rows 100000] [--no-write]
"""

import argparse
import json
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
os.environ.setdefault("WORKBENCH_SECRET_KEY", "x" * 40)
os.environ.setdefault("WORKBENCH_MASTER_KEY", "A" * 43 + "=")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from faker import Faker  # noqa: E402

from benchmarks.common import write_section  # noqa: E402
from benchmarks.privacy_eval import scan_frame  # noqa: E402


def make_table(rows: int, seed: int = 5) -> pd.DataFrame:
    fake, rng = Faker("en_US"), np.random.default_rng(seed)
    Faker.seed(seed)
    pool = 5000  # draw identities from pools: Faker per row would take longer than what is measured
    first = np.array([fake.first_name() for _ in range(pool)])
    last = np.array([fake.last_name() for _ in range(pool)])
    phones = np.array([fake.phone_number() for _ in range(pool)])
    cities = np.array([fake.city() for _ in range(500)])
    names = pd.Series(rng.choice(first, rows)) + " " + pd.Series(rng.choice(last, rows))
    phone = pd.Series(rng.choice(phones, rows))
    email = names.str.lower().str.replace(" ", ".") + pd.Series(rng.integers(1, 999, rows)).astype(str) + "@example.org"
    mrn = "MRN" + pd.Series(rng.integers(10**7, 10**8, rows)).astype(str)
    dob = pd.Series(pd.to_datetime("1930-01-01") + pd.to_timedelta(rng.integers(0, 25000, rows), unit="D")).dt.strftime("%Y-%m-%d")
    admitted = pd.Series(pd.to_datetime("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")).dt.strftime("%Y-%m-%d")
    notes = names + " seen on " + admitted + " (MRN " + mrn.str[3:] + "). Call back on " + phone + "; e-mail " + email + "."
    return pd.DataFrame(
        {
            "patient_name": names,
            "email": email,
            "phone": phone,
            "ssn": [
                f"{random.Random(i).randint(100, 665)}-{random.Random(i + 1).randint(10, 99)}-{random.Random(i + 2).randint(1000, 9999)}"
                for i in range(rows)
            ],
            "mrn": mrn,
            "dob": dob,
            "zip": pd.Series(rng.integers(10000, 99999, rows)).astype(str),
            "city": rng.choice(cities, rows),
            "age": rng.integers(18, 99, rows),
            "sex": rng.choice(["F", "M"], rows),
            "admission_date": admitted,
            "creatinine": np.round(rng.normal(1.0, 0.3, rows), 2),
            "clinical_notes": notes,
        }
    )


def naive_presidio(frame: pd.DataFrame, sample: int) -> dict:
    """Per-cell AnalyzerEngine + AnonymizerEngine on `sample` rows; seconds per cell and text recall."""
    from presidio_anonymizer import AnonymizerEngine

    from workbench.privacy.engine import analyzer

    engine, anonymizer = analyzer(), AnonymizerEngine()
    rows = frame.sample(sample, random_state=1).astype(str)
    started = time.perf_counter()
    outputs = []
    for _, row in rows.iterrows():
        for value in row:
            results = engine.analyze(text=value, language="en")
            outputs.append(anonymizer.anonymize(text=value, analyzer_results=results).text)
    seconds = time.perf_counter() - started
    return {"seconds_per_cell": seconds / (len(rows) * len(rows.columns)), "rows": rows, "outputs": outputs}


def leaked(original: pd.DataFrame, texts: list[str], columns: list[str]) -> int:
    """Rows whose own name, phone, e-mail or MRN is still in their note, as a whole value."""
    count = 0
    for position, text in enumerate(texts):
        row = original.iloc[position]
        count += any(re.search(rf"(?<![\w.]){re.escape(str(row[column]))}(?!\w)", text) for column in columns)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-sample", type=int, default=200, help="rows the naive baseline runs on before scaling")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from workbench.privacy.policy import apply, propose

    frame = make_table(args.rows)
    cells = frame.shape[0] * frame.shape[1]
    print(f"table: {frame.shape[0]:,} rows × {frame.shape[1]} columns", flush=True)

    started = time.perf_counter()
    report = scan_frame(frame)
    scan_s = time.perf_counter() - started
    print(f"scan: {scan_s:.1f} s", flush=True)
    policy = propose(report, k=1)  # k-anonymity is a separate step; compare the operators with Presidio's
    types = {c["name"]: c["semantic_type"] for c in report["columns"]}

    structured = {"columns": {n: r for n, r in policy["columns"].items() if r["operator"] != "replace_entities"}, "k": 1}
    started = time.perf_counter()
    apply(structured, frame.drop(columns=["clinical_notes"]), secret=b"s" * 32, types=types)
    structured_s = time.perf_counter() - started
    structured_cells = frame.shape[0] * len(structured["columns"])
    print(f"structured operators: {structured_s:.1f} s ({structured_cells / structured_s:,.0f} cells/s)", flush=True)

    started = time.perf_counter()
    result, _ = apply(policy, frame, secret=b"s" * 32, types=types)
    anonymize_s = time.perf_counter() - started
    print(f"anonymise all: {anonymize_s:.1f} s", flush=True)
    identifiers = ["patient_name", "phone", "email", "mrn"]
    ours_leaks = leaked(frame, result["clinical_notes"].astype(str).tolist(), identifiers)

    naive = naive_presidio(frame, args.baseline_sample)
    naive_s = naive["seconds_per_cell"] * cells
    notes_naive = [o for i, o in enumerate(naive["outputs"]) if i % frame.shape[1] == frame.shape[1] - 1]
    sample_rows = frame.loc[naive["rows"].index]
    naive_leaks = leaked(sample_rows, notes_naive, identifiers)
    ours_sample_leaks = leaked(sample_rows, result.loc[naive["rows"].index, "clinical_notes"].astype(str).tolist(), identifiers)
    results = {
        "rows": args.rows,
        "cells": cells,
        "scan_s": round(scan_s, 2),
        "anonymize_s": round(anonymize_s, 2),
        "structured_operator_cells_per_s": round(structured_cells / structured_s),
        "naive_presidio_s_scaled": round(naive_s, 1),
        "naive_seconds_per_cell": naive["seconds_per_cell"],
        "scan_speedup": round(naive_s / scan_s, 1),
        "anonymize_speedup": round(naive_s / anonymize_s, 1),
        "notes_identifiers_left_ours_all_rows": ours_leaks,
        "notes_identifiers_left_ours_on_sample": ours_sample_leaks,
        "notes_identifiers_left_naive_on_sample": naive_leaks,
    }
    print(json.dumps(results, indent=2))
    if args.no_write:
        return
    write_section(
        "Privacy scan and anonymisation speed (issue 3)",
        f"""Command: `.venv/bin/python benchmarks/privacy_speed.py` (the peer needs `requirements-bench.txt`, which `make bench` installs).
Table: {args.rows:,} rows × 13 columns (12 structured — name, e-mail, phone, SSN, MRN, date of birth, ZIP, city, age, sex,
admission date, creatinine — and clinical notes naming the patient, MRN, phone and e-mail). Peer: Presidio's
AnalyzerEngine + AnonymizerEngine called on every cell, timed on {args.baseline_sample} random rows and scaled to all {cells:,} cells.

| | time | ratio to the per-cell peer |
|---|---|---|
| per-cell Presidio (peer, scaled) | {naive_s:,.0f} s ({naive["seconds_per_cell"] * 1000:.2f} ms per cell) | 1 |
| our scan (ingest, profile, classify every column) | {scan_s:.1f} s | **{naive_s / scan_s:,.0f}× faster** (goal ≥ 20×) |
| our anonymisation with the proposed policy (NER on every note) | {anonymize_s:.1f} s | {naive_s / anonymize_s:,.0f}× faster |
| our structured operators alone | {structured_s:.1f} s | {structured_cells / structured_s:,.0f} cells/s (goal ≥ 1,000,000) |

Rows whose note still holds the row's own name, phone, e-mail or MRN afterwards, on the peer's {args.baseline_sample} sample rows:
ours {ours_sample_leaks}, per-cell Presidio {naive_leaks}; ours on all {args.rows:,} rows: {ours_leaks}.

The scan classifies columns from samples (100 values, 50 texts per column) rather than every cell, which is where most
of its speed comes from; the anonymisation does look at every note, and spaCy's NER on one core (about 5 ms a note) is
nearly all of its time: spreading the notes over workers is the next step. Keyed hashes and pseudonyms compute an
HMAC per distinct value in Python, which keeps the structured operators below a million cells a second.
""",
    )
    print("BENCHMARKS.md updated")


if __name__ == "__main__":
    main()
