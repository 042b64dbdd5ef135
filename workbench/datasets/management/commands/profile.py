import json
from pathlib import Path

from django.core.management.base import BaseCommand

from workbench.datasets.commandline import ingested
from workbench.datasets.profile import profile_parquet


class Command(BaseCommand):
    help = "Ingest FILE (CSV/TSV, XLSX, Parquet, JSON Lines) as the upload path does and print its profile as JSON."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--out", help="write the JSON here instead of standard output")
        parser.add_argument("--charts", action="store_true", help="include the plotly figures")

    def handle(self, *args, file, out, charts, **options):
        with ingested(file) as (parquet, result):
            profile = profile_parquet(lambda: open(parquet, "rb"))
        profile["source"] = {"file": Path(file).name, "format": result.format, **result.details}
        if not charts:
            for column in profile["columns"]:
                column.pop("chart", None)
        text = json.dumps(profile, indent=2, default=str)
        if out:
            Path(out).write_text(text + "\n")
        else:
            self.stdout.write(text + "\n")
