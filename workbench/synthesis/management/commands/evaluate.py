import json
from pathlib import Path

import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError

from workbench.datasets.commandline import ingested
from workbench.datasets.profile import profile_parquet, semantic_schema
from workbench.synthesis.base import make_plan
from workbench.synthesis.evaluate import evaluate


class Command(BaseCommand):
    help = (
        "Compare a synthetic table with the real one: fidelity, utility (--target) and privacy. Privacy against a holdout "
        "needs --holdout, real rows the generator never saw; without it the real file is split in two and the report says so."
    )

    def add_arguments(self, parser):
        parser.add_argument("real")
        parser.add_argument("synthetic")
        parser.add_argument("--holdout", help="real rows that were held out of fitting")
        parser.add_argument("--target")
        parser.add_argument("--out", help="write the report JSON here instead of standard output")

    def handle(self, *args, real, synthetic, holdout, target, out, **options):
        frames = {}
        schema = None
        for label, path in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
            if path is None:
                continue
            with ingested(path) as (parquet, _):
                if label == "real":
                    schema = semantic_schema(profile_parquet(lambda: open(parquet, "rb")))
                frames[label] = pq.read_table(parquet).to_pandas()
        missing = [c for c in frames["real"].columns if c not in frames["synthetic"].columns]
        if missing:
            raise CommandError(f"The synthetic table lacks these columns of the real one: {', '.join(missing)}")
        plan, _ = make_plan(frames["real"], schema)
        notes = list(plan.notes)
        real_table = plan.real_values(frames["real"])
        if "holdout" in frames:
            train, held = real_table, plan.real_values(frames["holdout"])
        else:
            shuffled = real_table.sample(frac=1.0, random_state=0)
            train, held = shuffled.iloc[: len(shuffled) // 2], shuffled.iloc[len(shuffled) // 2 :]
            notes.append("No --holdout given: half the real rows stand in for a holdout, so the privacy figures are indicative only.")
        if target and target not in plan.modelled:
            raise CommandError(f"--target '{target}' is not a modelled column of the real table.")
        synthetic_table = plan.real_values(frames["synthetic"])  # numbers stored as text read as the numbers modelled
        report = evaluate(train, held, synthetic_table, plan.kinds, target=target, modelled=plan.modelled, reasons=plan.reasons)
        report["notes"] = notes
        text = json.dumps(report, indent=2, default=str)
        if out:
            Path(out).write_text(text + "\n")
        else:
            self.stdout.write(text + "\n")
