"""The airlock's hostile-request suite, counted by class: how many attacks each defence holds, and how many reveal a
target when the same requests are answered with no disclosure control (the control that shows each attack works).

    .venv/bin/python benchmarks/airlock_attacks.py

The sequences are those of tests/airlock/attacks.py on the 2,000-patient table of tests/airlock/patients.py; each runs
against a fresh ledger (as in tests/test_airlock_attacks.py, which files them through the release path itself: request,
approval, the checker's run on RAW, release, the analyst's view), and then all of them one after another in a single
ledger. Here they go to the checker directly (the same function the release job calls), with the default rules.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import write_section  # noqa: E402
from tests.airlock.attacks import attacks, judge  # noqa: E402
from tests.airlock.patients import patients, targets  # noqa: E402
from workbench.releases.checker import Entry, check, exact  # noqa: E402
from workbench.releases.disclosure import Rules, released_view  # noqa: E402
from workbench.releases.query import column_kinds, parse  # noqa: E402


def run(attack, frame, kinds, rules, ledger: list) -> tuple[list, float]:
    views, started = [], time.perf_counter()
    for document in attack.queries:
        checked = check(parse(document, kinds), frame, rules, ledger)
        ledger += [Entry.from_json(e) for e in checked["entries"]]
        views.append(released_view(checked))
    return views, time.perf_counter() - started


OUTSIDE = Path(__file__).resolve().parent.parent / "tests" / "airlock" / "outside"
BEFORE = {  # tests/airlock/outside/FINDINGS.md, the tester's report on the code they tested: revealed, narrowed, held
    "pinned companions": (9, 9, 14),
    "regression share": (16, 0, 2),
    "oracle": (5, 0, 3),
    "regression leverage": (0, 2, 6),
}


def outside(frame) -> list[str]:
    """The independent tester's sequences, rerun: their verdicts by class."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        frame.to_csv(work / "patients.csv", index=False)
        (work / "data").mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("WORKBENCH_DATABASE_URL", "WORKBENCH_DATA_DIR")}
        env["ATTACKER_TABLE"] = str(work / "patients.csv")
        for script in sorted(OUTSIDE.glob("a_*.py")):
            if script.name != "a_pinned_lib.py":
                subprocess.run([sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=900, check=True)
        verdicts = [v for result in work.glob("res_*.json") for v in json.loads(result.read_text())]
    by_class: dict[str, Counter] = {}
    for verdict in verdicts:
        by_class.setdefault(verdict["class"], Counter())[verdict["verdict"]] += 1
    lines = ["| class | sequences | revealed | narrowed | held | when tested (revealed / narrowed / held) |", "|---|---|---|---|---|---|"]
    for kind, counts in sorted(by_class.items()):
        before = BEFORE.get(kind)
        lines.append(
            f"| {kind} | {sum(counts.values())} | {counts['revealed']} | {counts['narrowed']} | {counts['held']} | "
            f"{' / '.join(map(str, before)) if before else 'all held'} |"
        )
    total = Counter(v["verdict"] for v in verdicts)
    lines.append(f"| **all** | {len(verdicts)} | {total['revealed']} | {total['narrowed']} | **{total['held']}** | 30 / 11 / 44 |")
    return lines


def main() -> None:
    frame = patients()
    kinds = column_kinds(frame)
    people = targets(frame)
    suite = attacks(frame)
    rules = Rules()
    by_class: dict[str, Counter] = {}
    seconds, requests = 0.0, 0
    for attack in suite:
        views, spent = run(attack, frame, kinds, rules, [])
        seconds, requests = seconds + spent, requests + len(attack.queries)
        control = judge(attack, [exact(parse(q, kinds), frame) for q in attack.queries], people[attack.target])
        counts = by_class.setdefault(attack.kind, Counter())
        counts[judge(attack, views, people[attack.target])] += 1
        counts["control " + control] += 1
        counts["requests"] += len(attack.queries)
    shared, shared_verdicts, started = [], Counter(), time.perf_counter()
    for attack in suite:
        views, _ = run(attack, frame, kinds, rules, shared)
        shared_verdicts[judge(attack, views, people[attack.target])] += 1
    shared_seconds = time.perf_counter() - started
    lines = [
        "| class | attacks | requests | held | narrowed | revealed | without disclosure control: revealed / narrowed / held |",
        "|---|---|---|---|---|---|---|",
    ]
    total = Counter()
    for kind, counts in sorted(by_class.items()):
        attacks_in = counts["held"] + counts["narrowed"] + counts["revealed"]
        total.update(counts)
        lines.append(
            f"| {kind} | {attacks_in} | {counts['requests']} | {counts['held']} | {counts['narrowed']} | {counts['revealed']} | "
            f"{counts['control revealed']} / {counts['control narrowed']} / {counts['control held']} |"
        )
    lines.append(
        f"| **all** | {len(suite)} | {total['requests']} | **{total['held']}** | {total['narrowed']} | {total['revealed']} | "
        f"{total['control revealed']} / {total['control narrowed']} / {total['control held']} |"
    )
    body = "\n".join(
        [
            "Command: `.venv/bin/python benchmarks/airlock_attacks.py` (the suite of `tests/airlock/attacks.py`; the tests file the "
            "same sequences through the release path). Table: 2,000 patients (`tests/airlock/patients.py`, numpy, fixed seed) "
            "with five planted targets: the oldest (104), the only patient with a rare diagnosis, a cost outlier (251,340.55), "
            "a leaked study number, the only patient of a postcode district. Every request approved and released (the worst "
            "case); *revealed*: the recipe's estimate lands on the secret (exactly for counts and flags, within 1 % for money, "
            "half a year for an age); *narrowed*: within 10 % (two years of an age). Default rules (threshold 10, counts "
            "rounded to 5, N,K 2/0.9, p-ratio 0.1, one contribution at most 50 %, zeros disclosive, residual dof 10, "
            "leverage 0.5).",
            "",
            *lines,
            "",
            f"Each attack on a fresh ledger: {requests} requests checked in {seconds:.1f} s ({1000 * seconds / requests:.0f} ms "
            f"a request on average). All {len(suite)} sequences one after another in one ledger: "
            f"{shared_verdicts['held']} held, {shared_verdicts['narrowed']} narrowed, {shared_verdicts['revealed']} revealed "
            f"({shared_seconds:.1f} s; the ledger then holds the cells of {total['requests']} requests).",
        ]
    )
    body += "\n\n" + "\n".join(
        [
            "**An independent tester's sequences** (`tests/airlock/outside`, written against the promise alone — the declared-query "
            "format and `manage.py check_release` — kept as written and rerun here): their verdicts now, and in their report "
            "on the code they tested. The one revealed now is a binary search whose first midpoint (250,000) lands within "
            "1 % of the outlier by its starting bracket: after that step every request is held, and started from another "
            "bracket it ends 10 to 60 % away (`tests/test_airlock_attacks.py` checks one).",
            "",
            *outside(frame),
        ]
    )
    write_section("Airlock under attack: hostile request sequences (issue 22)", body)
    print(body)


if __name__ == "__main__":
    main()
