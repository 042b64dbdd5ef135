import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.management.base import BaseCommand

from workbench.datasets.commandline import ingested
from workbench.datasets.profile import profile_parquet, semantic_schema
from workbench.privacy.policy import find_entities
from workbench.privacy.scan import scan_parquet
from workbench.privacy.text import entity_counts


class Command(BaseCommand):
    help = (
        "Ingest FILE as an upload would and print, as JSON, each column's kind, entity, confidence and masked examples; "
        "for each free-text column, the entity spans of every row (type, start, end, score) and their counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--out", help="write the JSON here instead of standard output")
        parser.add_argument("--no-spans", action="store_true", help="count the entities in free text but leave the spans out")

    def handle(self, *args, file, out, no_spans, **options):
        with ingested(file) as (parquet, _):
            schema = semantic_schema(profile_parquet(lambda: open(parquet, "rb")))
            report = scan_parquet(lambda: open(parquet, "rb"), schema=schema)
            if report["free_text"]:
                table = pq.read_table(parquet, columns=report["free_text"])
                for column in report["columns"]:
                    if column["name"] in report["free_text"]:
                        spans = find_entities(table.column(column["name"]).cast(pa.string()).to_pylist())
                        column["text"] = entity_counts(spans)
                        if not no_spans:
                            column["spans"] = spans
        text = json.dumps(report, indent=2)
        if out:
            Path(out).write_text(text + "\n")
        else:
            self.stdout.write(text + "\n")
