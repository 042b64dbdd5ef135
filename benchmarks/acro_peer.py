"""The peer side of benchmarks/disclosure_bench.py, run with .venv-acro's Python: ACRO's own checks (suppress=False,
its default risk appetite) on the same tables and queries, each cell's outcome written as JSON.

    .venv-acro/bin/python benchmarks/acro_peer.py QUERIES.json OUT.json
"""

import json
import logging
import sys
import time
import warnings
from importlib.metadata import version

import pandas as pd

warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)

import acro  # noqa: E402

IGNORED = {"PresenceOfLinkedTableCheck", "RequiredZeroCheck"}  # "review by a person" notes, not cell decisions


def main(queries_path: str, out_path: str) -> None:
    plan = json.load(open(queries_path))
    results = []
    for planned in plan["tables"]:
        frame, name = pd.read_csv(planned["csv"]), planned["name"]
        for query in planned["queries"]:
            session = acro.ACRO(suppress=False)
            started = time.perf_counter()
            if query["kind"] == "crosstab":
                table = session.crosstab(frame[query["index"]], frame[query["columns"]])
            else:
                table = session.pivot_table(frame, index=[query["index"]], values=[query["value"]], aggfunc=[query["agg"]])
            seconds = time.perf_counter() - started
            output = session.results.get_index(0)
            outcome = output.outcome
            cells = {}
            for row_label, row in outcome.iterrows():
                for column_label, text in row.items():
                    flags = sorted(
                        {t for t in str(text).split("; ") if t and t.strip("; ") not in ("ok", "") and t.strip("; ") not in IGNORED}
                    )
                    column = column_label[-1] if isinstance(column_label, tuple) else column_label
                    cells[json.dumps([str(row_label), str(column)])] = [f.strip("; ") for f in flags]
            shown = {}
            for row_label, row in table.iterrows():
                for column_label, value in row.items():
                    column = column_label[-1] if isinstance(column_label, tuple) else column_label
                    shown[json.dumps([str(row_label), str(column)])] = None if pd.isna(value) else float(value)
            results.append({"table": name, "query": query, "seconds": seconds, "cells": cells, "values": shown})
    json.dump({"acro": version("acro"), "results": results}, open(out_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
