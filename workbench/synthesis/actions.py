"""Domain functions of the synthesis stage: start a run, run it (fit, sample, evaluate, store), read reports."""

import functools
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
from workbench.synthesis.base import WRITE, SynthesisError, check_choices
from workbench.synthesis.generators import METHODS
from workbench.synthesis.models import PrivacySpend
from workbench.synthesis.run import synthesize, to_arrow


def start_synthesize(
    *,
    version: Version,
    user,
    method: str = "auto",
    rows: int | None = None,
    target: str = "",
    seed: int | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
    columns: dict[str, str] | None = None,
    text_epsilon: float | None = None,
):
    """Check the request (every problem named, nothing started), spend from the privacy budget for a DP run,
    and queue the job. `columns` changes the plan column by column ("model", "leave out" or "write text"; see
    `plan_preview`). A copy that writes text runs where the deep generator does (its packages, its queue); with
    `text_epsilon` its text model trains under DP-SGD and that ε is spent from the budget too."""
    problems = []
    writes = False
    if columns:
        from workbench.privacy.actions import read_scan

        try:
            # against the classification the run will use (the stored scan, or one made now from a sample)
            check_choices(columns, [c["name"] for c in version.schema], read_scan(version) or _classify(version))
        except SynthesisError as error:
            problems.append(str(error))
        else:
            writes = [name for name, how in columns.items() if how == WRITE]
            if writes:
                problems.extend(_text_problems(version, writes))
    if method == "dp" or (method == "deep" and (epsilon is not None or delta is not None)):  # deep with ε: DP-SGD
        if not isinstance(epsilon, int | float) or isinstance(epsilon, bool) or not 0 < epsilon <= 100:
            problems.append(f"A DP {method} run needs epsilon, a number above 0 and at most 100.")
        delta = settings.DP_DELTA_PER_RUN if delta is None else delta
        if not isinstance(delta, int | float) or isinstance(delta, bool) or not 0 < delta < 1:
            problems.append("delta must be a number between 0 and 1.")
    elif epsilon is not None or delta is not None:
        problems.append(
            "epsilon and delta apply to the dp method, and to deep (trained under DP-SGD), only"
            + (": the automatic choice makes copies without differential privacy." if method == "auto" else ".")
        )
    if text_epsilon is not None:
        if not isinstance(text_epsilon, int | float) or isinstance(text_epsilon, bool) or not 0 < text_epsilon <= 100:
            problems.append("text_epsilon must be a number above 0 and at most 100.")
        elif not writes:
            problems.append('text_epsilon applies when a column is set to "write text".')
    if method not in METHODS:
        problems.append(f"Method must be one of: {', '.join(METHODS)}.")
    if rows is not None and not (isinstance(rows, int) and not isinstance(rows, bool) and 1 <= rows <= settings.SYNTH_MAX_ROWS):
        problems.append(f"Rows must be a whole number from 1 to {settings.SYNTH_MAX_ROWS:,}.")
    if target and target not in [c["name"] for c in version.schema]:
        problems.append(f"The target column '{target}' is not in this version.")
    if version.row_count < 2:
        problems.append(f"A synthetic copy needs at least 2 rows to learn from; this version has {version.row_count}.")
    if problems:
        raise Refused(" ".join(problems))
    params = {"method": method, "rows": rows or version.row_count, "target": target or None, "seed": 0 if seed is None else seed}
    if method == "dp" or (method == "deep" and epsilon is not None):
        params.update(epsilon=float(epsilon), delta=float(delta))
    if columns:
        params["columns"] = dict(columns)
    if text_epsilon is not None:
        params.update(text_epsilon=float(text_epsilon), text_delta=settings.DP_DELTA_PER_RUN)
    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().get(pk=version.dataset_id)  # one run at a time takes from the budget
        spend = (params.get("epsilon", 0.0) + params.get("text_epsilon", 0.0), params.get("delta", 0.0) + params.get("text_delta", 0.0))
        entry = ledger.spend(dataset=dataset, epsilon=spend[0], delta=spend[1], user=user) if spend[0] else None
        job = create_job(
            kind="synthesize",
            user=user,
            workspace=version.dataset.workspace,
            dataset=version.dataset,
            version=version,
            params=params,
            queue=settings.SYNTH_DEEP_QUEUE if method == "deep" or writes else None,
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
    choices: dict[str, str] | None = None,
    text_epsilon: float | None = None,
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
            choices=choices,
            text_epsilon=text_epsilon,
            progress=progress,
        )
    except SynthesisError as error:
        raise JobError(str(error)) from None
    progress(90, "Writing the SYNTHETIC version")
    made_by = {
        "kind": "synthesize",
        "method": report["generator"]["method"],  # under "auto", the one chosen (the choice is in "generator")
        "seed": seed,
        "rows_requested": rows,
        "target": target,
        "columns": choices or {},
        "fidelity_score": report["fidelity"]["score"],
        "privacy": {k: v for k, v in report["privacy"].items() if not isinstance(v, dict)},
        "utility": report.get("utility"),
        "exact_copies_removed": report["exact_copies_removed"],
        "notes": report["notes"],
        "generator": report["generator"],
    }
    if epsilon:
        made_by.update(epsilon=epsilon, delta=delta)
    if "text" in report:
        made_by["text"] = {"columns": report["generator"]["text"]["columns"], "measures": report["text"]}
        if text_epsilon:
            made_by["text"].update(epsilon=text_epsilon, delta=report["generator"]["text"]["delta"])
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


PREVIEW_ROWS = 20_000


def plan_preview(version: Version) -> dict:
    """What a synthetic copy would do with each column, before the run: modelled (and as what), or filled (and why),
    decided on the version's first PREVIEW_ROWS rows and its scan (or, with none stored, the classification the run
    would make). Column names and decisions only, no values."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from workbench.privacy.actions import read_scan
    from workbench.storage import open_version
    from workbench.synthesis.base import make_plan

    with open_version(version) as handle:
        reader = pq.ParquetFile(handle)
        batch = next(reader.iter_batches(batch_size=PREVIEW_ROWS), None)
        frame = (pa.Table.from_batches([batch]) if batch is not None else reader.schema_arrow.empty_table()).to_pandas()
    stored = read_scan(version)
    scan = stored or _classify(version)  # as the run will: without a stored scan it classifies the columns first
    try:
        plan, _ = make_plan(frame, version.schema, scan)
    except SynthesisError as error:
        return {"columns": [], "problem": str(error)}
    rows = []
    for name in plan.columns:
        if name in plan.modelled:
            how = "modelled as numbers (stored as text)" if name in plan.numbers_from_text else f"modelled ({plan.kinds[name]})"
            rows.append({"column": name, "action": "model", "how": how, "reason": ""})
        else:
            fill = plan.fills[name]
            how = {"null": "left empty", "constant": "kept as its one value", "sequence": "numbered 1, 2, 3…", "dates": "fresh dates"}.get(
                fill["how"], f"fresh {fill['how']} values"
            )
            reason = plan.reasons.get(name, "")
            rows.append({"column": name, "action": "fill", "how": how, "reason": reason, "text": reason.startswith("free text")})
    from workbench.synthesis import text

    return {
        "columns": rows,
        "sampled_rows": len(frame),
        "of_rows": version.row_count,
        "scanned": stored is not None,
        "text_model": text.available(),  # whether "write text" can be chosen for the free-text columns
    }


def _text_problems(version: Version, columns: list[str]) -> list[str]:
    """Why the text model cannot write these columns of this version (nothing when it can)."""
    from workbench.synthesis import text

    if not text.available():
        return [
            "Writing synthetic text needs the text model's packages (requirements-gpu.txt), which this server lacks; "
            "leave the text columns out or install them."
        ]
    try:
        text.local_model(settings.SYNTH_TEXT_MODEL)
    except SynthesisError as error:
        return [str(error)]
    preview = {row["column"]: row for row in plan_preview(version)["columns"]}
    return [
        f"'{name}' is not free text by this table's scan, so no text model writes it."
        for name in columns
        if not preview.get(name, {}).get("text")
    ]


def _classify(version: Version) -> dict:
    """Without a stored scan, classify the columns now (from a sample; seconds) so identifiers stay out of the model.
    A version never changes, so its classification is made once per process (the page, the request and the job
    each ask for it) and handed out as a fresh copy."""
    return json.loads(_classified(version.pk, version.file))


@functools.lru_cache(maxsize=32)
def _classified(version_id: int, file: str) -> str:
    from workbench.privacy.scan import scan_parquet
    from workbench.storage import open_version

    version = Version.objects.select_related("dataset").get(pk=version_id)
    return json.dumps(scan_parquet(lambda: open_version(version), schema=version.schema), default=str)


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
