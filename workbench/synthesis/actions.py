"""Domain functions of the synthesis stage: start a run, run it (fit, sample, evaluate, store), read reports."""

import json

import pyarrow as pa
from django.conf import settings
from django.db import transaction

from workbench.audit.actions import record_event
from workbench.datasets import actions as datasets
from workbench.datasets.models import Tier, Version
from workbench.datasets.storage import read_encrypted_json, unwrap_key, write_encrypted_json
from workbench.jobs.actions import JobError, create_job
from workbench.synthesis.base import SynthesisError
from workbench.synthesis.generators import GENERATORS
from workbench.synthesis.run import synthesize, to_arrow


def start_synthesize(*, version: Version, user, method: str = "copula", rows: int | None = None, target: str = "", seed: int | None = None):
    """Check the request (every problem named, nothing started) and queue the job."""
    problems = []
    if method not in GENERATORS:
        problems.append(f"Method must be one of: {', '.join(GENERATORS)}.")
    if rows is not None and not (isinstance(rows, int) and not isinstance(rows, bool) and 1 <= rows <= settings.SYNTH_MAX_ROWS):
        problems.append(f"Rows must be a whole number from 1 to {settings.SYNTH_MAX_ROWS:,}.")
    if target and target not in [c["name"] for c in version.schema]:
        problems.append(f"The target column '{target}' is not in this version.")
    if version.row_count < 2:
        problems.append(f"A synthetic copy needs at least 2 rows to learn from; this version has {version.row_count}.")
    if problems:
        raise JobError(" ".join(problems))
    params = {"method": method, "rows": rows or version.row_count, "target": target or None, "seed": 0 if seed is None else seed}
    with transaction.atomic():
        job = create_job(
            kind="synthesize", user=user, workspace=version.dataset.workspace, dataset=version.dataset, version=version, params=params
        )
        record_event(actor=user, action="version.synthesize", obj=version, workspace_id=version.dataset.workspace_id, details=params)
    return job


def synthesize_version(*, job, progress) -> Version:
    from workbench.privacy.actions import read_scan

    version = Version.objects.select_related("dataset__workspace").get(pk=job.version_id)
    params = job.params
    progress(5, "Reading the table")
    table = datasets.read_table(version)
    try:
        synthetic, report, model = synthesize(
            table.to_pandas(),
            version.schema,
            method=params["method"],
            rows=params["rows"],
            scan=read_scan(version),
            target=params.get("target"),
            seed=params.get("seed", 0),
            progress=progress,
        )
    except SynthesisError as error:
        raise JobError(str(error)) from None
    progress(90, "Writing the SYNTHETIC version")
    made_by = {
        "kind": "synthesize",
        "method": params["method"],
        "seed": params.get("seed", 0),
        "rows_requested": params["rows"],
        "target": params.get("target"),
        "fidelity_score": report["fidelity"]["score"],
        "privacy": {k: v for k, v in report["privacy"].items() if not isinstance(v, dict)},
        "utility": report.get("utility"),
        "exact_copies_removed": report["exact_copies_removed"],
        "notes": report["notes"],
        "generator": report["generator"],
    }
    created = datasets.store_table(
        dataset=version.dataset,
        table=to_arrow(synthetic, table.schema),
        tier=Tier.SYNTHETIC,
        parent=version,
        made_by=made_by,
        user=job.created_by,
    )
    key = unwrap_key(version.dataset.wrapped_key)
    write_encrypted_json(_report_path(created), key, report)
    write_encrypted_json(created.file.replace(".parquet.enc", ".model.json.enc"), key, json.loads(json.dumps(model, default=str)))
    return created


def _report_path(version: Version) -> str:
    return version.file.replace(".parquet.enc", ".evaluation.json.enc")


def read_report(version: Version) -> dict | None:
    """The evaluation report of a SYNTHETIC version (aggregates only; kept encrypted like everything derived from RAW)."""
    if version.tier != Tier.SYNTHETIC:
        return None
    from workbench.datasets.storage import data_path

    if not data_path(_report_path(version)).exists():
        return None
    return read_encrypted_json(_report_path(version), unwrap_key(version.dataset.wrapped_key))


def arrow_schema(version: Version) -> pa.Schema:
    return datasets.read_table(version).schema
