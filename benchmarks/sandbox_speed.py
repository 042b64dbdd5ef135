"""Sandbox start-up cost per run: this tree's sandbox against an earlier one, in the same run, alternated.

The earlier sandbox is taken from git (`--before REV`) into a temporary folder and imported from there; both run the
same code on the same Parquet file, 20 times each by default. Two comparisons are kept in BENCHMARKS.md:

    python benchmarks/sandbox_speed.py --before 2d6d786 --issue 10   # the bubblewrap box against the process before it
    python benchmarks/sandbox_speed.py --before 02549f8 --issue 23   # the box closed for good (unprivileged uid, /dev,
                                                                     # cgroup, more seccomp) against the box before
"""

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, write_section  # noqa: E402

CODE = {
    "result = 1": "result = 1",
    "groupby + chart": 'result = df.groupby("g")["x"].mean()\nfig = px.bar(result.reset_index(), x="g", y="x")',
}


def _previous_sandbox(revision: str, folder: Path):
    for name in ("sandbox.py", "_child.py"):
        text = subprocess.run(
            ["git", "show", f"{revision}:workbench/analysis/{name}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        (folder / name).write_text(text)
    spec = importlib.util.spec_from_file_location("previous_sandbox", folder / "sandbox.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    import pandas as pd

    from workbench.analysis import sandbox as current

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", default="02549f8", help="the commit whose sandbox is the 'before'")
    parser.add_argument("--issue", type=int, default=23, choices=[10, 23], help="which comparison this is (its section)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        table = folder / "table.parquet"
        pd.DataFrame({"g": list("abcde") * 2000, "x": range(10000)}).to_parquet(table)
        (folder / "old").mkdir()
        previous = _previous_sandbox(args.before, folder / "old")
        rows = []
        for label, code in CODE.items():
            times = {"before": [], "after": []}
            for _ in range(args.runs):  # alternated, so drift in the machine's speed touches both
                for name, module in (("before", previous), ("after", current)):
                    started = time.perf_counter()
                    outcome = module.run(code, table, scratch=folder)
                    times[name].append(time.perf_counter() - started)
                    assert outcome.ok, (name, outcome.error)
            before, after = statistics.median(times["before"]), statistics.median(times["after"])
            rows.append((label, before, after, max(times["before"]), max(times["after"])))
            print(f"{label}: before {before * 1000:.0f} ms, after {after * 1000:.0f} ms (median of {args.runs})", flush=True)
    before_name, after_name, note = DESCRIPTIONS[args.issue]
    body = (
        f"`python benchmarks/sandbox_speed.py --runs {args.runs} --before {args.before} --issue {args.issue}` — wall time of one "
        "`sandbox.run` from call to parsed outcome (process start, imports, reading a 10,000-row Parquet file, locking in, the "
        f"code, the result), median of {args.runs} runs each, the two sandboxes alternated in one run, as root.\n\n"
        f"| code | before: {before_name} (ms) | after: {after_name} (ms) | after ÷ before | slowest before / after (ms) |\n"
        "|---|---:|---:|---:|---:|\n"
        + "".join(
            f"| `{label}` | {before * 1000:.0f} | {after * 1000:.0f} | {after / before:.2f} | {worst_b * 1000:.0f} / {worst_a * 1000:.0f} |\n"
            for label, before, after, worst_b, worst_a in rows
        )
        + "\n"
        + note
    )
    if not args.no_write:
        write_section(f"Sandbox start-up cost (issue {args.issue})", body)


DESCRIPTIONS = {
    10: (
        "process + Landlock + seccomp",
        "bubblewrap box + checks from outside",
        "Most of either figure is the interpreter importing pandas, numpy and plotly. The box (namespaces, read-only binds, "
        "a private /proc, the tmpfs) and the parent's checks of /proc/<pid>/status, ns and limits cost, most likely, less than "
        "what the previous child did and this one no longer does: it started `ldconfig -p` twice (ctypes' library search, for "
        "libc and libseccomp) and copied the table into its folder; the data now comes in as a descriptor.",
    ),
    23: (
        "the box of issue 10 (kuid 0 inside when the worker is root, bubblewrap's /dev)",
        "the box closed (unprivileged uid, a namespace map written by the worker, /dev of four nodes, a cgroup per run, "
        "the chart allowlist)",
        "What the closed box adds per run: the worker waits for bubblewrap's info and writes the namespace's uid and gid "
        "maps, makes and removes the run's cgroup (three v1 folders here: memory, pids, cpu), and parses each figure through "
        "the allowlist.",
    ),
}


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    main()
