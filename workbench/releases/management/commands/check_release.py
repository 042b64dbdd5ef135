import json
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError

from workbench.analysis import sandbox
from workbench.datasets.commandline import ingested
from workbench.releases.disclosure import Rules, chart_of, check_result, released_view, validate_rules


class Command(BaseCommand):
    help = (
        "Run code on a CSV, Excel or Parquet file in the sandbox, as a release request runs on RAW, and print what "
        "disclosure control lets out: every cell with its status and reason (--released: only what an analyst "
        "would see). The rules are the defaults, or a dataset policy's 'disclosure' object from --rules FILE.json."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("code", help="a file of Python that sets `result` (as the interpreter's code does), or - for stdin")
        parser.add_argument("--rules", help="a JSON file: the disclosure rules (threshold, rounding_base, nk_n, nk_k, p_ratio, ...)")
        parser.add_argument("--released", action="store_true", help="print only the released view")
        parser.add_argument("--out", help="write the JSON here instead of printing it")

    def handle(self, *args, file, code, rules, released, out, **options):
        import sys

        source = sys.stdin.read() if code == "-" else _read(code)
        given = json.loads(_read(rules)) if rules else {}
        problems = validate_rules(given) if isinstance(given, dict) else ["the rules file must hold a JSON object"]
        if problems:
            raise CommandError(" ".join(problems))
        checked_rules = Rules.from_policy({"disclosure": given})
        with ingested(file) as (parquet, _), tempfile.TemporaryDirectory() as scratch:
            outcome = sandbox.run(source, Path(parquet), limits=sandbox.Limits.from_settings(), scratch=Path(scratch))
            frame = pq.read_table(parquet).to_pandas(date_as_object=False)
            checked = check_result(outcome.result if outcome.ok else None, frame, checked_rules)
        if not outcome.ok:
            checked["error"] = (outcome.error or {}).get("type", "SandboxStopped")
        checked["chart"] = chart_of(checked)
        document = released_view(checked) if released else checked
        text = json.dumps(document, indent=2, default=str)
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
