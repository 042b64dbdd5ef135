import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from workbench.accounts.access import get_version_for_user
from workbench.datasets.actions import preview as preview_rows
from workbench.jobs.actions import JobError
from workbench.privacy import actions
from workbench.privacy.policy import PolicyError, apply

PREVIEW_ROWS = 10


@login_required
@require_POST
def scan(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id, need="run")
    return redirect("job", actions.start_scan(version=version, user=request.user).pk)


def _rules_from(request) -> dict:
    try:
        rules = json.loads(request.POST.get("rules", ""))
    except ValueError:
        raise JobError("The policy is not valid JSON.") from None
    if not isinstance(rules, dict):
        raise JobError("The policy must be a JSON object.")
    return rules


@login_required
@require_POST
def anonymize(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id, need="run")
    name = request.POST.get("save_as", "").strip()
    try:
        rules = _rules_from(request)
        if name:
            actions.save_policy(
                workspace=version.dataset.workspace, user=request.user, name=name, rules=rules, columns=[c["name"] for c in version.schema]
            )
        job = actions.start_anonymize(version=version, user=request.user, rules=rules, policy_name=name)
    except JobError as problem:
        messages.error(request, str(problem))
        return redirect("version", version.pk)
    return redirect("job", job.pk)


@login_required
@require_POST
def preview(request: HttpRequest, version_id: int) -> HttpResponse:
    """Ten rows as the policy would leave them (without k-anonymity, which needs the whole table)."""
    version, _ = get_version_for_user(request.user, version_id, need="run")
    page = preview_rows(version, page=1, page_size=PREVIEW_ROWS)
    import pandas as pd

    frame = pd.DataFrame(page["rows"], columns=page["columns"]).replace("", None)
    try:
        rules = dict(_rules_from(request), k=1)
        result, _ = apply(
            rules, frame, secret=bytes(version.dataset.workspace.secret), types={c["name"]: c["type"] for c in version.schema}
        )
    except (JobError, PolicyError, ValueError) as problem:
        return render(request, "privacy/_preview.html", {"error": str(problem)})
    rows = result.astype(object).where(result.notna(), "").astype(str).values.tolist()
    return render(request, "privacy/_preview.html", {"columns": list(result.columns), "rows": rows})
