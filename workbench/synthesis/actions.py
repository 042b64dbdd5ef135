"""Domain functions of the synthesis stage: start a run, run it (fit, sample, evaluate, store), read reports."""

import json

from django.conf import settings
from django.db import transaction

from workbench.audit.actions import record_event
from workbench.datasets import actions as datasets
from workbench.datasets.models import Dataset, Tier, Version
from workbench.errors import Refused
from workbench.jobs.actions import JobError, create_job
from workbench.storage import read_encrypted_json, sibling_path, unwrap_key, write_encrypted_json
from workbench.synthesis import ledger
from workbench.synthesis.base import SynthesisError
from workbench.synthesis.generators import GENERATORS
from workbench.synthesis.models import PrivacySpend
from workbench.synthesis.run import synthesize, to_arrow


def start_synthesize(
    *,
    version: Version,
    user,
    method: str = "copula",
    rows: int | None = None,
    target: str = "",
    seed: int | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
):
    """Check the request (every problem named, nothing started), spend from the privacy budget for a DP run,
    and queue the job."""
    problems = []
    if method == "dp":
        if not isinstance(epsilon, int | float) or isinstance(epsilon, bool) or not 0 < epsilon <= 100:
            problems.append("A DP run needs epsilon, a number above 0 and at most 100.")
        delta = settings.DP_DELTA_PER_RUN if delta is None else delta
        if not isinstance(delta, int | float) or isinstance(delta, bool) or not 0 < delta < 1:
            problems.append("delta must be a number between 0 and 1.")
    elif epsilon is not None or delta is not None:
        problems.append("epsilon and delta apply to the dp method only.")
    if method not in GENERATORS:
        problems.append(f"Method must be one of: {', '.join(GENERATORS)}.")
    if rows is not None and not (isinstance(rows, int) and not isinstance(rows, bool) and 1 <= rows <= settings.SYNTH_MAX_ROWS):
        problems.append(f"Rows must be a whole number from 1 to {settings.SYNTH_MAX_ROWS:,}.")
    if target and target not in [c["name"] for c in version.schema]:
        problems.append(f"The target column '{target}' is not in this version.")
    if version.row_count < 2:
        problems.append(f"A synthetic copy needs at least 2 rows to learn from; this version has {version.row_count}.")
    if problems:
        raise Refused(" ".join(problems))
    params = {"method": method, "rows": rows or version.row_count, "target": target or None, "seed": 0 if seed is None else seed}
    if method == "dp":
        params.update(epsilon=float(epsilon), delta=float(delta))
    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().get(pk=version.dataset_id)  # one run at a time takes from the budget
        entry = ledger.spend(dataset=dataset, epsilon=params["epsilon"], delta=params["delta"], user=user) if method == "dp" else None
        job = create_job(
            kind="synthesize",
            user=user,
            workspace=version.dataset.workspace,
            dataset=version.dataset,
            version=version,
            params=params,
            queue=settings.SYNTH_DEEP_QUEUE if method == "deep" else None,
        )
        if entry:
            PrivacySpend.objects.filter(pk=entry.pk).update(job=job)
        record_event(actor=user, action="version.synthesize", obj=version, workspace_id=version.dataset.workspace_id, details=params)
    return job


def synthesize_version(
    *,
    version_id: int,
    job_id: int,
    user,
    method: str,
    rows: int,
    target: str | None = None,
    seed: int = 0,
    epsilon: float | None = None,
    delta: float | None = None,
    progress,
) -> Version:
    """Fit `method` to the version and write a SYNTHETIC version with its evaluation report and model; a DP run's
    ledger entry (made when the job was queued, under `job_id`) is linked to the new version."""
    from workbench.privacy.actions import read_scan

    version = Version.objects.select_related("dataset__workspace").get(pk=version_id)
    progress(5, "Reading the table")
    table = datasets.read_table(version)
    try:
        synthetic, report, model = synthesize(
            table.to_pandas(),
            version.schema,
            method=method,
            rows=rows,
            scan=read_scan(version) or _classify(version),
            target=target,
            seed=seed,
            epsilon=epsilon,
            delta=delta,
            progress=progress,
        )
    except SynthesisError as error:
        raise JobError(str(error)) from None
    progress(90, "Writing the SYNTHETIC version")
    made_by = {
        "kind": "synthesize",
        "method": method,
        "seed": seed,
        "rows_requested": rows,
        "target": target,
        "fidelity_score": report["fidelity"]["score"],
        "privacy": {k: v for k, v in report["privacy"].items() if not isinstance(v, dict)},
        "utility": report.get("utility"),
        "exact_copies_removed": report["exact_copies_removed"],
        "notes": report["notes"],
        "generator": report["generator"],
    }
    if method == "dp":
        made_by.update(epsilon=epsilon, delta=delta)
    created = datasets.store_table(
        dataset=version.dataset,
        table=to_arrow(synthetic, table.schema),
        tier=Tier.SYNTHETIC,
        parent=version,
        made_by=made_by,
        user=user,
    )
    key = unwrap_key(version.dataset.wrapped_key)
    write_encrypted_json(_report_path(created), key, report)
    write_encrypted_json(sibling_path(created.file, "model"), key, json.loads(json.dumps(model, default=str)))
    PrivacySpend.objects.filter(job_id=job_id).update(version=created)
    return created


def _classify(version: Version) -> dict:
    """Without a stored scan, classify the columns now (from a sample; seconds) so identifiers stay out of the model."""
    from workbench.privacy.scan import scan_parquet
    from workbench.storage import open_version

    return scan_parquet(lambda: open_version(version), schema=version.schema)


def _report_path(version: Version) -> str:
    return sibling_path(version.file, "evaluation")


def read_report(version: Version) -> dict | None:
    """The evaluation report of a SYNTHETIC version (aggregates only; kept encrypted like everything derived from RAW)."""
    if version.tier != Tier.SYNTHETIC:
        return None
    from workbench.storage import data_path

    if not data_path(_report_path(version)).exists():
        return None
    return read_encrypted_json(_report_path(version), unwrap_key(version.dataset.wrapped_key))
