"""Domain functions of the privacy stage: scan a version, save policies, anonymise a version."""

import pandas as pd
from django.db import transaction
from django.utils import timezone

from workbench.audit.actions import record_event
from workbench.datasets import actions as datasets
from workbench.datasets.models import Tier, Version
from workbench.datasets.storage import open_version, read_encrypted_json, unwrap_key, write_encrypted_json
from workbench.jobs.actions import JobError, create_job
from workbench.privacy.models import Policy
from workbench.privacy.policy import PolicyError, apply, propose, validate
from workbench.privacy.risk import risk_report
from workbench.privacy.scan import scan_parquet


def start_scan(*, version: Version, user):
    return create_job(kind="scan", user=user, workspace=version.dataset.workspace, dataset=version.dataset, version=version)


def scan_version(*, version: Version, progress) -> dict:
    progress(10, "Classifying columns")
    report = scan_parquet(lambda: open_version(version), schema=version.schema)
    relative = version.file.replace(".parquet.enc", ".scan.json.enc")
    write_encrypted_json(relative, unwrap_key(version.dataset.wrapped_key), report)  # masked examples are still RAW-derived
    Version.objects.filter(pk=version.pk).update(scan_file=relative, scanned_at=timezone.now())
    return {"direct_identifiers": len(report["direct_identifiers"]), "quasi_identifiers": len(report["quasi_identifiers"])}


def read_scan(version: Version) -> dict | None:
    if not version.scan_file:
        return None
    return read_encrypted_json(version.scan_file, unwrap_key(version.dataset.wrapped_key))


def proposed_policy(version: Version) -> dict | None:
    scan = read_scan(version)
    return propose(scan, k=version.dataset.policy.get("k", 5)) if scan else None


def save_policy(*, workspace, user, name: str, rules: dict, columns: list[str] | None = None) -> Policy:
    name = name.strip()[:120]
    if not name:
        raise JobError("A saved policy needs a name.")
    if columns is not None:
        problems = validate(rules, pd.DataFrame(columns=columns))
        structural = [p for p in problems if "not in the table" in p or "must be" in p]
        if structural:
            raise JobError("; ".join(structural))
    policy, _ = Policy.objects.update_or_create(
        workspace=workspace, name=name, defaults={"rules": rules, "created_by": user, "updated_at": timezone.now()}
    )
    record_event(actor=user, action="policy.save", obj=policy, workspace_id=workspace.pk, details={"name": name})
    return policy


def policy_for_columns(policy: Policy, columns: list[str]) -> dict:
    """A saved policy narrowed to the columns this table has (policies are matched by column name)."""
    rules = dict(policy.rules)
    rules["columns"] = {name: rule for name, rule in policy.rules.get("columns", {}).items() if name in columns}
    rules["quasi_identifiers"] = [q for q in policy.rules.get("quasi_identifiers", []) if q in columns]
    return rules


def start_anonymize(*, version: Version, user, rules: dict, policy_name: str = ""):
    problems = [
        p for p in validate(rules, pd.DataFrame(columns=[c["name"] for c in version.schema])) if "not in the table" in p or "must be" in p
    ]
    if problems:
        raise JobError("; ".join(problems))
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


def anonymize_version(*, job, progress) -> Version:
    version = Version.objects.select_related("dataset__workspace").get(pk=job.version_id)
    rules = job.params["rules"]
    progress(5, "Reading the table")
    frame = datasets.read_table(version).to_pandas()
    types = {c["name"]: c["type"] for c in version.schema}
    progress(20, "Applying the policy")
    try:
        result, summary = apply(rules, frame, secret=bytes(version.dataset.workspace.secret), types=types)
    except PolicyError as error:
        raise JobError(str(error)) from None
    progress(80, "Measuring re-identification risk")
    quasi = [q for q in rules.get("quasi_identifiers", []) if q in result.columns]
    k = rules.get("k", version.dataset.policy.get("k", 5))
    made_by = {
        "kind": "anonymize",
        "policy_name": job.params.get("policy_name", ""),
        "policy": rules,
        "summary": summary,
        "risk_before": risk_report(frame, quasi_identifiers=quasi, k=k),
        "risk_after": risk_report(result, quasi_identifiers=quasi, k=k),
    }
    progress(90, "Writing the ANONYMIZED version")
    import pyarrow as pa

    table = pa.Table.from_pandas(result.astype({c: "string" for c in result.columns if result[c].dtype == object}), preserve_index=False)
    return datasets.store_table(
        dataset=version.dataset, table=table, tier=Tier.ANONYMIZED, parent=version, made_by=made_by, user=job.created_by
    )
