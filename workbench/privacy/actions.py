"""Domain functions of the privacy stage: scan a version, save policies, anonymise a version.

Scanning and anonymising run in two steps when the table has free text: the first stages the text in
chunks (see `text`), a chord of chunk tasks scans or cleans them on every free worker, and the
closing step (`finish_scan`, `finish_anonymize`) gathers them and writes the result."""

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.db import transaction
from django.utils import timezone

from workbench.audit.actions import record_event
from workbench.datasets import actions as datasets
from workbench.datasets.models import Tier, Version
from workbench.errors import Refused
from workbench.jobs.actions import Attempt, JobError, create_job, report_progress
from workbench.privacy import text
from workbench.privacy.editor import family_of
from workbench.privacy.models import Policy
from workbench.privacy.policy import PolicyError, apply_structured, finish, propose, validate
from workbench.privacy.risk import risk_report, uncounted_risk
from workbench.privacy.scan import scan_parquet
from workbench.storage import (
    EncryptedReader,
    EncryptedWriter,
    data_path,
    job_work_path,
    open_version,
    read_encrypted_json,
    remove_job_work,
    sibling_path,
    unwrap_key,
    write_encrypted_json,
)


def _key(version: Version) -> bytes:
    return unwrap_key(version.dataset.wrapped_key)


def _version(version_id: int) -> Version:
    return Version.objects.select_related("dataset__workspace").get(pk=version_id)


def start_scan(*, version: Version, user):
    with transaction.atomic():
        job = create_job(kind="scan", user=user, workspace=version.dataset.workspace, dataset=version.dataset, version=version)
        record_event(
            actor=user,
            action="version.scan",
            obj=version,
            workspace_id=version.dataset.workspace_id,
            details={"tier": version.tier, "job": job.pk},
        )
    return job


def scan_version(*, version_id: int, attempt: Attempt, progress) -> dict:
    """Classify the columns from a sample. Free-text columns are then scanned on every row: their text is
    staged in chunks and {"chunks": n} returned for the chord; otherwise the report is saved at once."""
    version = _version(version_id)
    progress(5, "Classifying columns")
    report = scan_parquet(lambda: open_version(version), schema=version.schema)
    if not report["free_text"] or not version.row_count:
        return _save_scan(version, report, spans={})
    progress(10, "Splitting the free text into chunks")
    table = datasets.read_table(version, columns=report["free_text"])
    columns = {
        name: {"texts": table.column(name).cast(pa.string()).to_pylist(), "spans": None, "style": None} for name in report["free_text"]
    }
    remove_job_work(attempt.job_id)
    return {"chunks": text.stage(attempt, _key(version), columns, state={"report": report})}


def process_text_chunk(*, version_id: int, attempt: Attempt, index: int, count: int, low: float, high: float) -> dict:
    """One chunk of a scan's or anonymisation's free text (run by the chord's tasks)."""
    version = _version(version_id)
    done = text.process_chunk(attempt, index, _key(version), secret=bytes(version.dataset.workspace.secret))
    report_progress(attempt.job_id, low + (high - low) * done / count, f"Free text: {done} of {count} chunks done")
    return {"chunk": index}


def finish_scan(*, version_id: int, attempt: Attempt) -> dict:
    version = _version(version_id)
    key = _key(version)
    state = text.read_state(attempt, key)
    joined, workers = text.gather(attempt, key, state["chunks"])
    result = _save_scan(version, state["report"], spans={name: column["spans"] for name, column in joined.items()})
    remove_job_work(attempt.job_id)
    return {**result, "text_chunks": state["chunks"], "text_workers": len(workers)}


def _spans_path(version: Version) -> str:
    return sibling_path(version.file, "spans")


def _save_scan(version: Version, report: dict, *, spans: dict[str, list]) -> dict:
    for column in report["columns"]:
        if column["name"] in spans:
            column["text"] = text.entity_counts(spans[column["name"]])
    key = _key(version)
    relative = sibling_path(version.file, "scan")
    write_encrypted_json(relative, key, report)  # masked examples are still RAW-derived
    if spans:
        write_encrypted_json(_spans_path(version), key, spans)  # kept for the anonymisation of this version
    else:
        data_path(_spans_path(version)).unlink(missing_ok=True)
    Version.objects.filter(pk=version.pk).update(scan_file=relative, scanned_at=timezone.now())
    return {
        "direct_identifiers": len(report["direct_identifiers"]),
        "quasi_identifiers": len(report["quasi_identifiers"]),
        "free_text_rows_scanned": sum(len(rows) for rows in spans.values()),
    }


def read_scan(version: Version) -> dict | None:
    if not version.scan_file:
        return None
    return read_encrypted_json(version.scan_file, _key(version))


def read_spans(version: Version) -> dict[str, list]:
    """Entity spans per row of each free-text column, from this version's last scan ({} when none)."""
    if not version.scan_file or not data_path(_spans_path(version)).exists():
        return {}
    return read_encrypted_json(_spans_path(version), _key(version))


def proposed_policy(version: Version, scan: dict | None = None) -> dict | None:
    """The policy the version's scan proposes (`scan` when the caller has read it already)."""
    scan = scan or read_scan(version)
    return propose(scan, k=version.dataset.policy.get("k", 5)) if scan else None


def save_policy(*, workspace, user, name: str, rules: dict, schema: list[dict] | None = None) -> Policy:
    """Save `rules` by name for the workspace; with the table's `schema`, the column types are kept so that
    the policy is reused only on columns of the same name and kind of type."""
    name = name.strip()[:120]
    if not name:
        raise Refused("A saved policy needs a name.")
    rules = dict(rules)
    if schema is not None:
        problems = validate(rules, pd.DataFrame(columns=[c["name"] for c in schema]))
        structural = [p for p in problems if "not in the table" in p or "must be" in p]
        if structural:
            raise Refused("; ".join(structural))
        types = {c["name"]: family_of(c["type"]) for c in schema}
        rules["column_types"] = {
            n: types[n] for n in [*rules.get("columns", {}), *rules.get("quasi_identifiers", []), *rules.get("sensitive", [])]
        }
    policy, _ = Policy.objects.update_or_create(
        workspace=workspace, name=name, defaults={"rules": rules, "created_by": user, "updated_at": timezone.now()}
    )
    record_event(actor=user, action="policy.save", obj=policy, workspace_id=workspace.pk, details={"name": name})
    return policy


def policy_for_columns(policy: Policy, schema: list[dict]) -> dict:
    """A saved policy narrowed to the columns of this table with the same name and, where the policy
    recorded it, the same kind of type (numbers, dates or text)."""
    types = {c["name"]: family_of(c["type"]) for c in schema}
    recorded = policy.rules.get("column_types", {})

    def fits(name: str) -> bool:
        return name in types and recorded.get(name, types[name]) == types[name]

    rules = {key: value for key, value in policy.rules.items() if key != "column_types"}
    rules["columns"] = {name: rule for name, rule in policy.rules.get("columns", {}).items() if fits(name)}
    rules["quasi_identifiers"] = [q for q in policy.rules.get("quasi_identifiers", []) if fits(q)]
    rules["sensitive"] = [s for s in policy.rules.get("sensitive", []) if fits(s)]
    return rules


def start_anonymize(*, version: Version, user, rules: dict, policy_name: str = ""):
    problems = [
        p for p in validate(rules, pd.DataFrame(columns=[c["name"] for c in version.schema])) if "not in the table" in p or "must be" in p
    ]
    if problems:
        raise Refused("; ".join(problems))
    with transaction.atomic():
        job = create_job(
            kind="anonymize",
            user=user,
            workspace=version.dataset.workspace,
            dataset=version.dataset,
            version=version,
            params={"rules": rules, "policy_name": policy_name},
        )
        record_event(
            actor=user, action="version.anonymize", obj=version, workspace_id=version.dataset.workspace_id, details={"policy": policy_name}
        )
    return job


def _risk(rules: dict, version: Version, frame: pd.DataFrame) -> dict:
    """The risk report on the policy's quasi-identifiers (with ℓ-diversity of its sensitive attributes)."""
    quasi = [q for q in rules.get("quasi_identifiers", []) if q in frame.columns]
    sensitive = [s for s in rules.get("sensitive", []) if s in frame.columns and s not in quasi]
    return risk_report(frame, quasi_identifiers=quasi, sensitive=sensitive, k=rules.get("k", version.dataset.policy.get("k", 5)))


def _reversible(dataset) -> bytes:
    from workbench.privacy.policy import reversible_key

    return reversible_key(unwrap_key(dataset.wrapped_key))


def reveal(*, dataset, user, token: str) -> str:
    """The value a reversible pseudonym (`enc:…`) of this dataset stands for. The caller has checked that `user` manages
    the dataset (owners only); the reveal is audited, the value is not."""
    from workbench.privacy import operators

    if not isinstance(token, str) or not token.strip():
        raise Refused('Give the pseudonym to reveal as "value" (text that starts with enc:).')
    if len(token) > 10_000:
        raise Refused("That is too long to be a pseudonym.")
    try:
        original = operators.decrypt(token, key=_reversible(dataset))
    except ValueError as error:
        record_event(actor=user, action="pseudonym.reveal_refused", obj=dataset, workspace_id=dataset.workspace_id)
        raise Refused(str(error)) from None
    record_event(actor=user, action="pseudonym.reveal", obj=dataset, workspace_id=dataset.workspace_id)
    return original


def anonymize_version(*, version_id: int, attempt: Attempt, rules: dict, policy_name: str, user, progress) -> Version | dict:
    """Apply a policy. Without free text the ANONYMIZED version is written at once; with it, the text is staged in
    chunks with the rest of the table, and {"chunks": n} returned for the chord."""
    version = _version(version_id)
    progress(5, "Reading the table")
    frame = datasets.read_table(version).to_pandas()
    types = {c["name"]: c["type"] for c in version.schema}
    progress(15, "Applying the policy")
    try:
        out, texts = apply_structured(
            rules, frame, secret=bytes(version.dataset.workspace.secret), types=types, reversible=_reversible(version.dataset)
        )
    except PolicyError as error:
        raise JobError(str(error)) from None
    risk_before = _risk(rules, version, frame)
    if not texts["rules"]:
        return _store_anonymized(version, rules, out, policy_name=policy_name, user=user, risk_before=risk_before, progress=progress)
    progress(20, "Splitting the free text into chunks")
    stored = read_spans(version)
    columns = {}
    for name, rule in texts["rules"].items():
        spans = stored.get(name)
        columns[name] = {
            "texts": frame[name].astype("string").astype(object).where(frame[name].notna(), None).tolist(),
            "spans": spans if spans is not None and len(spans) == len(frame) else None,
            "style": rule.get("style", "tag"),
        }
        out[name] = None  # the RAW text never goes into the staged table
    key = _key(version)
    remove_job_work(attempt.job_id)
    _write_frame(_staged_table(attempt), key, out)
    return {"chunks": text.stage(attempt, key, columns, known=texts["known"], avoid=texts["avoid"], state={"risk_before": risk_before})}


def _staged_table(attempt: Attempt) -> str:
    return job_work_path(attempt.job_id, f"attempt-{attempt.number}/table.parquet.enc")


def finish_anonymize(*, version_id: int, attempt: Attempt, rules: dict, policy_name: str, user) -> Version:
    version = _version(version_id)
    key = _key(version)
    state = text.read_state(attempt, key)
    with EncryptedReader(data_path(_staged_table(attempt)), key) as src:
        out = pq.read_table(src).to_pandas()
    joined, workers = text.gather(attempt, key, state["chunks"])
    for name, column in joined.items():
        out[name] = pd.Series(column["texts"], index=out.index, dtype=object)
    entities = {name: text.entity_counts(column["spans"]) for name, column in joined.items()}
    chunks = {"chunks": state["chunks"], "workers": len(workers)}
    result = _store_anonymized(
        version, rules, out, policy_name=policy_name, user=user, risk_before=state["risk_before"], text_entities=entities, chunks=chunks
    )
    remove_job_work(attempt.job_id)
    return result


def _store_anonymized(
    version: Version,
    rules: dict,
    out: pd.DataFrame,
    *,
    policy_name: str,
    user,
    risk_before: dict,
    progress=None,
    text_entities=None,
    chunks=None,
):
    if progress:
        progress(80, "Enforcing k-anonymity and measuring the risk left")
    result, summary = finish(rules, out)
    made_by = {
        "kind": "anonymize",
        "policy_name": policy_name,
        "policy": rules,
        "summary": summary,
        "text_entities": text_entities or {},
        "text_chunks": chunks or {},
        "risk_before": risk_before,
        "risk_after": _risk(rules, version, result),
        **uncounted_risk(result, rules=rules, k=rules.get("k", version.dataset.policy.get("k", 5))),
    }
    return datasets.store_table(
        dataset=version.dataset, table=_to_arrow(result), tier=Tier.ANONYMIZED, parent=version, made_by=made_by, user=user
    )


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}), preserve_index=False)


def _write_frame(relative: str, key: bytes, frame: pd.DataFrame) -> None:
    data_path(relative).parent.mkdir(parents=True, exist_ok=True)
    with EncryptedWriter(data_path(relative), key) as out:
        pq.write_table(_to_arrow(frame), out)
