import json
from pathlib import Path

from django.core.management.base import BaseCommand

from workbench.datasets.commandline import ingested
from workbench.datasets.profile import profile_parquet, semantic_schema
from workbench.privacy.scan import scan_parquet


class Command(BaseCommand):
    help = "Ingest FILE as an upload would and print, as JSON, each column's kind, entity, confidence and masked examples."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--out", help="write the JSON here instead of standard output")

    def handle(self, *args, file, out, **options):
        with ingested(file) as (parquet, _):
            schema = semantic_schema(profile_parquet(lambda: open(parquet, "rb")))
            report = scan_parquet(lambda: open(parquet, "rb"), schema=schema)
        text = json.dumps(report, indent=2)
        if out:
            Path(out).write_text(text + "\n")
        else:
            self.stdout.write(text + "\n")
