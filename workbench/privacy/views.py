import json

import pandas as pd
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from workbench.accounts.access import get_version_for_user
from workbench.datasets.actions import preview as preview_rows
from workbench.jobs.actions import JobError
from workbench.privacy import actions, editor
from workbench.privacy.policy import PolicyError, apply, validate

PREVIEW_ROWS = 10


@login_required
@require_POST
def scan(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id, need="run")
    return redirect("job", actions.start_scan(version=version, user=request.user).pk)


def _json_rules(request) -> dict:
    try:
        rules = json.loads(request.POST.get("rules", ""))
    except ValueError:
        raise JobError("The policy is not valid JSON.") from None
    if not isinstance(rules, dict):
        raise JobError("The policy must be a JSON object.")
    return rules


def _submitted_rules(request, version) -> tuple[dict, list[str]]:
    """The policy a form sent: the editor's fields, or a JSON `rules` field (scripts and older pages)."""
    if "rules" in request.POST:
        return _json_rules(request), []
    return editor.read_form(request.POST, version.schema)


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


@login_required
@require_POST
def policy_editor(request: HttpRequest, version_id: int) -> HttpResponse:
    """Re-render the editor from its fields (htmx, on every change), load a saved policy, or save this one."""
    version, _ = get_version_for_user(request.user, version_id, need="run")
    note = ""
    if request.POST.get("load") == "__proposed__":
        rules, problems = actions.proposed_policy(version) or {"columns": {}}, []
        note = "Loaded the policy the scan proposes."
    elif request.POST.get("load"):
        saved = version.dataset.workspace.policies.filter(name=request.POST["load"]).first()
        rules, problems = (
            (actions.policy_for_columns(saved, version.schema), []) if saved else editor.read_form(request.POST, version.schema)
        )
        note = f"Loaded the saved policy '{saved.name}' (its columns that this table has)." if saved else "No saved policy of that name."
    else:
        try:
            rules, problems = _submitted_rules(request, version)
        except JobError as problem:
            rules, problems = {"columns": {}}, [str(problem)]
    if request.POST.get("save") and not problems:
        try:
            saved = actions.save_policy(
                workspace=version.dataset.workspace,
                user=request.user,
                name=request.POST.get("save_as", ""),
                rules=rules,
                schema=version.schema,
            )
            note = f"Saved as '{saved.name}'; it can be loaded on any dataset of this workspace."
        except JobError as problem:
            problems = [str(problem)]
    return render(request, "privacy/_editor.html", editor_context(version, rules, problems=problems, preview=True, note=note))


@login_required
@require_POST
def anonymize(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id, need="run")
    name = request.POST.get("save_as", "").strip()
    try:
        rules, problems = _submitted_rules(request, version)
        if problems:
            raise JobError("; ".join(problems))
        if name:
            actions.save_policy(workspace=version.dataset.workspace, user=request.user, name=name, rules=rules, schema=version.schema)
        job = actions.start_anonymize(version=version, user=request.user, rules=rules, policy_name=name)
    except JobError as problem:
        messages.error(request, str(problem))
        return redirect("version", version.pk)
    return redirect("job", job.pk)
