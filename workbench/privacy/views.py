import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from workbench.access import get_version_for_user
from workbench.errors import Refused
from workbench.privacy import actions, editor
from workbench.privacy.panel import editor_context


@login_required
@require_POST
def scan(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id, need="run")
    return redirect("job", actions.start_scan(version=version, user=request.user).pk)


def _json_rules(request) -> dict:
    try:
        rules = json.loads(request.POST.get("rules", ""))
    except ValueError:
        raise Refused("The policy is not valid JSON.") from None
    if not isinstance(rules, dict):
        raise Refused("The policy must be a JSON object.")
    return rules


def _submitted_rules(request, version) -> tuple[dict, list[str]]:
    """The policy a form sent: the editor's fields, or a JSON `rules` field (scripts and older pages)."""
    if "rules" in request.POST:
        return _json_rules(request), []
    return editor.read_form(request.POST, version.schema)


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
        except Refused as problem:
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
        except Refused as problem:
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
            raise Refused("; ".join(problems))
        if name:
            actions.save_policy(workspace=version.dataset.workspace, user=request.user, name=name, rules=rules, schema=version.schema)
        job = actions.start_anonymize(version=version, user=request.user, rules=rules, policy_name=name)
    except Refused as problem:
        messages.error(request, str(problem))
        return redirect("version", version.pk)
    return redirect("job", job.pk)
