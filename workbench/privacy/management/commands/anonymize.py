import json
import os
from pathlib import Path

import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError

from workbench.datasets.commandline import ingested
from workbench.datasets.profile import profile_parquet, semantic_schema
from workbench.privacy.policy import PolicyError, apply, propose
from workbench.privacy.risk import risk_report, uncounted_risk


class Command(BaseCommand):
    help = "Anonymise FILE with a policy (a JSON file, or 'auto' for the one the scan proposes) and write OUT (.csv or .parquet)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--policy", required=True, help="POLICY.json or auto")
        parser.add_argument("--out", required=True, help="where to write the anonymised table (.csv or .parquet)")
        parser.add_argument("--k", type=int, default=5, help="k for the auto policy (default 5)")
        parser.add_argument("--secret-file", help="32+ bytes that key hashes and pseudonyms (default: a fresh random key)")

    def handle(self, *args, file, policy, out, k, secret_file, **options):
        target = Path(out)
        if target.suffix.lower() not in (".csv", ".parquet"):
            raise CommandError("--out must end in .csv or .parquet")
        secret = Path(secret_file).read_bytes() if secret_file else os.urandom(32)
        if len(secret) < 32:
            raise CommandError("The secret file must hold at least 32 bytes.")
        with ingested(file) as (parquet, _):
            schema = semantic_schema(profile_parquet(lambda: open(parquet, "rb")))
            frame = pq.read_table(parquet).to_pandas()
        types = {c["name"]: c["type"] for c in schema}
        if policy == "auto":
            rules = propose(_scan(frame, schema), k=k)
        else:
            try:
                rules = json.loads(Path(policy).read_text())
            except (OSError, ValueError) as error:
                raise CommandError(f"The policy could not be read: {error}") from None
        try:
            result, summary = apply(rules, frame, secret=secret, types=types)
        except PolicyError as error:
            raise CommandError(f"The policy does not fit this table: {error}") from None
        quasi = [q for q in rules.get("quasi_identifiers", []) if q in frame.columns and q in result.columns]
        sensitive = [s for s in rules.get("sensitive", []) if s in result.columns and s not in quasi]
        report = {
            "policy": rules,
            "summary": summary,
            "risk_before": risk_report(frame, quasi_identifiers=quasi, sensitive=sensitive, k=rules.get("k", 1)),
            "risk_after": risk_report(result, quasi_identifiers=quasi, sensitive=sensitive, k=rules.get("k", 1)),
            **uncounted_risk(result, rules=rules, k=rules.get("k", 1)),
        }
        if target.suffix.lower() == ".csv":
            result.to_csv(target, index=False)
        else:
            result.to_parquet(target, index=False)
        self.stdout.write(json.dumps(report, indent=2, default=str) + "\n")


def _scan(frame, schema) -> dict:
    import pyarrow as pa

    from workbench.privacy.classify import classify_column

    types = {c["name"]: c["type"] for c in schema}
    table = pa.Table.from_pandas(frame.head(20_000), preserve_index=False)
    return {"columns": [classify_column(name, types.get(name, "text"), table.column(name)) for name in table.schema.names]}
