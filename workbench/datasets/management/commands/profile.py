import json
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from workbench.datasets.ingest import IngestError, ingest_stream
from workbench.datasets.profile import profile_parquet


class Command(BaseCommand):
    help = "Ingest FILE (CSV/TSV, XLSX, Parquet, JSON Lines) as the upload path does and print its profile as JSON."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--out", help="write the JSON here instead of standard output")
        parser.add_argument("--charts", action="store_true", help="include the plotly figures")

    def handle(self, *args, file, out, charts, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        with tempfile.TemporaryDirectory() as scratch, open(path, "rb") as src:
            parquet = Path(scratch) / "table.parquet"
            try:
                result = ingest_stream(src, filename=path.name, size=path.stat().st_size, out_factory=lambda: open(parquet, "wb"))
            except IngestError as error:
                raise CommandError(str(error)) from None
            profile = profile_parquet(lambda: open(parquet, "rb"))
        profile["source"] = {"file": path.name, "format": result.format, **result.details}
        if not charts:
            for column in profile["columns"]:
                column.pop("chart", None)
        text = json.dumps(profile, indent=2, default=str)
        if out:
            Path(out).write_text(text + "\n")
        else:
            self.stdout.write(text + "\n")
