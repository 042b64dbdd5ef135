"""What the privacy stage shows on the shared version page: the scan, the policy editor and the risk chart."""

import json

import pandas as pd

from workbench.access import can
from workbench.datasets import charts as chart_figures
from workbench.datasets.actions import preview as preview_rows
from workbench.privacy import actions, editor
from workbench.privacy.policy import PolicyError, apply, validate

PREVIEW_ROWS = 10


def version_panel(version, membership) -> dict:
    scan = actions.read_scan(version)
    for column in (scan or {}).get("columns", []):
        column["kind_label"] = column["kind"].replace("_", " ")
    can_run = can(membership, "run")
    editor_state = editor_context(version, actions.proposed_policy(version, scan), scan=scan) if scan and can_run else None
    charts = {}
    if version.made_by.get("risk_after"):
        charts["risk"] = chart_figures.class_sizes(
            before=version.made_by["risk_before"]["class_size_histogram"], after=version.made_by["risk_after"]["class_size_histogram"]
        )
    return {"scan": scan, "editor": editor_state, "charts": charts}


def editor_context(
    version, rules: dict, *, problems: list[str] = (), preview: bool = False, note: str = "", scan: dict | None = None
) -> dict:
    """What the policy editor shows: a row per column, the problems, saved policies, and ten rows previewed."""
    problems = list(problems) + validate(rules, _preview_frame(version, columns_only=True), {c["name"]: c["type"] for c in version.schema})
    context = {
        "version": version,
        "rows": editor.rows(version.schema, rules, scan or actions.read_scan(version)),
        "rules": rules,
        "rules_json": json.dumps(rules, indent=2),
        "problems": problems,
        "policies": version.dataset.workspace.policies.all(),
        "note": note,
    }
    if preview and not problems:
        context["preview"] = _preview(version, rules)
    return context


def _preview_frame(version, *, columns_only: bool = False) -> pd.DataFrame:
    if columns_only:
        return pd.DataFrame({c["name"]: pd.Series(dtype=_dtype(c["type"])) for c in version.schema})
    page = preview_rows(version, page=1, page_size=PREVIEW_ROWS)
    frame = pd.DataFrame(page["rows"], columns=page["columns"]).replace("", None)
    for column in version.schema:
        if column["type"] in ("int", "float"):
            frame[column["name"]] = pd.to_numeric(frame[column["name"]], errors="coerce")
    return frame


def _dtype(semantic_type: str) -> str:
    return {"int": "float64", "float": "float64", "date": "datetime64[ns]", "datetime": "datetime64[ns]"}.get(semantic_type, "object")


def _preview(version, rules: dict) -> dict:
    """Ten rows as the policy would leave them (without k-anonymity, which needs the whole table)."""
    try:
        result, _ = apply(
            dict(rules, k=1),
            _preview_frame(version),
            secret=bytes(version.dataset.workspace.secret),
            types={c["name"]: c["type"] for c in version.schema},
        )
    except (PolicyError, ValueError, TypeError) as problem:
        return {"error": str(problem)}
    return {"columns": list(result.columns), "rows": result.astype(object).where(result.notna(), "").astype(str).values.tolist()}
