import json
from pathlib import Path

import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError

from workbench.datasets.commandline import ingested
from workbench.datasets.profile import profile_parquet, semantic_schema
from workbench.synthesis.base import WRITE, SynthesisError
from workbench.synthesis.generators import METHODS
from workbench.synthesis.run import synthesize, to_arrow


class Command(BaseCommand):
    help = (
        "Ingest FILE as an upload would, fit a generator on it and write a synthetic copy (CSV or Parquet by the extension "
        "of --out); prints the report (fidelity, utility with --target, privacy against a holdout) as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--method",
            default="auto",
            choices=METHODS,
            help="auto (the default: fits the copula and the marginal model, and deep where a GPU is free, on part of the rows and "
            "keeps the best on the rest), copula, marginals (no noise, no privacy guarantee), dp (differentially private; needs "
            "--epsilon) or deep (TabularARGN; needs requirements-gpu.txt)",
        )
        parser.add_argument("--rows", type=int, help="rows to generate (default: as many as the file has)")
        parser.add_argument("--epsilon", type=float, help="privacy budget for --method dp, or DP-SGD training for --method deep")
        parser.add_argument("--epochs", type=float, help="training epochs for --method deep (default WORKBENCH_DEEP_MAX_EPOCHS)")
        parser.add_argument("--target", help="a column to predict for the train-synthetic/test-real utility score")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", required=True, help="OUT.csv or OUT.parquet")
        parser.add_argument("--report", help="also write the report JSON here")
        parser.add_argument("--no-scan", action="store_true", help="skip the personal-data scan that keeps identifiers out of the model")
        parser.add_argument(
            "--write-text",
            action="append",
            default=[],
            metavar="COLUMN",
            help="have the text model write new text for this free-text column (repeatable; needs requirements-gpu.txt)",
        )
        parser.add_argument("--text-epsilon", type=float, help="train the text model under DP-SGD with this ε (δ = 1e-6)")
        parser.add_argument("--text-epochs", type=float, help="the text model's training epochs (default WORKBENCH_TEXT_MAX_EPOCHS)")

    def handle(
        self,
        *args,
        file,
        method,
        rows,
        epsilon,
        epochs,
        target,
        seed,
        out,
        report,
        no_scan,
        write_text,
        text_epsilon,
        text_epochs,
        **options,
    ):
        target_path = Path(out)
        if target_path.suffix.lower() not in (".csv", ".parquet"):
            raise CommandError("--out must end in .csv or .parquet")
        if epsilon is not None and method not in ("dp", "deep"):
            raise CommandError("--epsilon applies to --method dp, and to --method deep (trained under DP-SGD), only")
        if epsilon is not None and not 0 < epsilon <= 100:
            raise CommandError("--epsilon must be above 0 and at most 100")
        if method == "dp" and not (epsilon and epsilon > 0):
            raise CommandError("--method dp needs --epsilon, a positive number (for example --epsilon 1)")
        if epochs is not None and (method != "deep" or epochs <= 0):
            raise CommandError("--epochs applies to --method deep only and must be positive")
        if (text_epsilon is not None or text_epochs is not None) and not write_text:
            raise CommandError("--text-epsilon and --text-epochs apply with --write-text only")
        if text_epsilon is not None and not 0 < text_epsilon <= 100:
            raise CommandError("--text-epsilon must be above 0 and at most 100")
        if write_text and no_scan:
            raise CommandError("--write-text needs the scan (it finds the identifiers to take out of the text first); drop --no-scan")
        with ingested(file) as (parquet, _):
            schema = semantic_schema(profile_parquet(lambda: open(parquet, "rb")))
            table = pq.read_table(parquet)
            scan = None
            if not no_scan:
                from workbench.privacy.scan import scan_parquet

                scan = scan_parquet(lambda: open(parquet, "rb"), schema=schema)
        try:
            synthetic, result, _ = synthesize(
                table.to_pandas(),
                schema,
                method=method,
                rows=rows,
                scan=scan,
                target=target,
                seed=seed,
                epsilon=epsilon,
                max_epochs=epochs,
                choices={name: WRITE for name in write_text} or None,
                text_epsilon=text_epsilon,
                text_epochs=text_epochs,
            )
        except SynthesisError as error:
            raise CommandError(str(error)) from None
        arrow = to_arrow(synthetic, table.schema)
        if target_path.suffix.lower() == ".csv":
            arrow.to_pandas().to_csv(target_path, index=False)
        else:
            pq.write_table(arrow, target_path)
        text = json.dumps(result, indent=2, default=str)
        if report:
            Path(report).write_text(text + "\n")
        self.stdout.write(text + "\n")
