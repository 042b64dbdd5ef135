import json
from pathlib import Path

import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError

from workbench.datasets.commandline import ingested
from workbench.releases.checker import Entry, check, check_table_dp, dp_problems
from workbench.releases.disclosure import Rules, chart_of, released_view, validate_rules
from workbench.releases.query import QueryError, column_kinds, parse


class Command(BaseCommand):
    help = (
        "Compute a declared query (a JSON file, or - for stdin) on a CSV, Excel or Parquet file as a release computes it "
        "on RAW, and print what disclosure control lets out: every cell with its status and reason (--released: only "
        "what an analyst would see). --ledger FILE.json holds earlier releases' entries (the 'entries' this command "
        "prints), so that a sequence of queries is checked as the airlock checks it; --epsilon answers with "
        "differential privacy instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("query", help="a JSON file holding the declared query (see workbench/releases/query.py), or -")
        parser.add_argument("--rules", help="a JSON file: the disclosure rules (threshold, rounding_base, nk_n, nk_k, p_ratio, ...)")
        parser.add_argument("--ledger", help="a JSON file: a list of earlier entries; the released entries are appended to it")
        parser.add_argument("--epsilon", type=float, help="answer with differential privacy, spending this ε")
        parser.add_argument("--released", action="store_true", help="print only the released view")
        parser.add_argument("--out", help="write the JSON here instead of printing it")

    def handle(self, *args, file, query, rules, ledger, epsilon, released, out, **options):
        import sys

        document = _json(sys.stdin.read() if query == "-" else _read(query), "the query")
        given = _json(_read(rules), "the rules") if rules else {}
        problems = validate_rules(given) if isinstance(given, dict) else ["the rules file must hold a JSON object"]
        if problems:
            raise CommandError(" ".join(problems))
        prior = [Entry.from_json(e) for e in _json(_read(ledger), "the ledger")] if ledger and Path(ledger).exists() else []
        with ingested(file) as (parquet, _):
            frame = pq.read_table(parquet).to_pandas(date_as_object=False)
        try:
            declared = parse(document, column_kinds(frame))
        except QueryError as problem:
            raise CommandError(str(problem)) from None
        checked_rules = Rules.from_policy({"disclosure": given})
        if epsilon is not None:
            problems = dp_problems(declared)
            if problems:
                raise CommandError(" ".join(problems))
            checked = check_table_dp(declared, frame, checked_rules, epsilon)
        else:
            checked = check(declared, frame, checked_rules, prior)
        if ledger:
            Path(ledger).write_text(json.dumps([e.as_json() for e in prior] + checked["entries"], indent=1, default=str))
        view = released_view(checked)
        view["chart"] = chart_of(view)
        text = json.dumps(view if released else checked, indent=2, default=str)
        if out:
            Path(out).write_text(text)
        else:
            self.stdout.write(text)
        cells = checked["summary"]["cells"]
        self.stderr.write(f"{cells['released']} released, {cells['suppressed']} suppressed, {cells['withheld']} withheld")


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}") from None


def _json(text: str, what: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(f"{what} is not valid JSON ({error.msg} at line {error.lineno}).") from None
