import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from workbench.access import can, get_release_for_user, get_turn_for_user, get_version_for_user, get_workspace_for_user
from workbench.errors import Refused
from workbench.releases import actions
from workbench.releases.models import ReleaseRequest

EXAMPLE = {
    "kind": "table",
    "groups": [{"column": "<a column>", "values": ["<a value>", "<another>"]}],
    "measures": [{"statistic": "count"}],
    "filters": [],
    "margins": False,
}


@login_required
@require_http_methods(["GET", "POST"])
def request_run(request: HttpRequest, turn_id: int) -> HttpResponse:
    """Ask for a turn's answer on the real data: the declaration drafted from it, a pre-check on the safe tier, the
    request."""
    turn, _ = get_turn_for_user(request.user, turn_id, need="run")
    draft = actions.draft_for_turn(turn)
    return _form(request, version=turn.conversation.version, turn=turn, draft=draft)


@login_required
@require_http_methods(["GET", "POST"])
def request_from_version(request: HttpRequest, version_id: int) -> HttpResponse:
    """Ask for a declared query written by hand against a safe version."""
    version, _ = get_version_for_user(request.user, version_id, need="run")
    return _form(request, version=version, turn=None, draft={"query": EXAMPLE})


def _form(request: HttpRequest, *, version, turn, draft: dict) -> HttpResponse:
    text = (
        request.POST.get("query") if request.method == "POST" else json.dumps(draft.get("query") or EXAMPLE, indent=2, ensure_ascii=False)
    )
    reason = request.POST.get("reason", "")
    context = {"version": version, "turn": turn, "draft": draft, "query_text": text, "reason": reason, "checked": None, "problem": ""}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "submit":
                release = actions.request_release(user=request.user, version=version, document=text, reason=reason, turn=turn)
                messages.success(
                    request, "Sent: an owner of this workspace reviews the request before anything is computed on the real data."
                )
                return redirect("release", release.pk)
            context["checked"] = actions.precheck(version=version, document=text, user=request.user)
        except Refused as refused:
            context["problem"] = str(refused)
    return render(request, "releases/new.html", context, status=400 if context["problem"] else 200)


@login_required
@require_safe
def release(request: HttpRequest, release_id: int) -> HttpResponse:
    release, membership = get_release_for_user(request.user, release_id)
    reviewer = can(membership, "manage")
    checked = actions.read_checked(release) if release.sealed_output and reviewer else None
    released = actions.read_released(release, checked) if reviewer else actions.read_released(release)
    context = {
        "release": release,
        "reviewer": reviewer,
        "own": release.requested_by_id == request.user.pk,
        "query_json": json.dumps(release.query, indent=2, ensure_ascii=False),
        "code": actions.read_code(release) if reviewer else "",
        "checked": checked,
        "released": released,
        # what was let out before, for the reviewer's judgement (the ledger checks every cell against it)
        "earlier": ReleaseRequest.objects.filter(dataset=release.dataset, state="released")
        .exclude(pk=release.pk)
        .select_related("requested_by")[:20]
        if reviewer
        else [],
        "ledger_size": release.dataset.ledger.count() if reviewer else None,
    }
    return render(request, "releases/release.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, release_id: int, decision: str) -> HttpResponse:
    release, _ = get_release_for_user(request.user, release_id, need="manage")
    steps = {
        "approve": lambda: actions.approve_release(request=release, user=request.user),
        "reject": lambda: actions.reject_release(request=release, user=request.user, note=request.POST.get("note", "")),
        "release": lambda: actions.release_output(request=release, user=request.user),
    }
    try:
        steps[decision]()
    except Refused as refused:
        messages.error(request, str(refused))
    return redirect("release", release.pk)


@login_required
@require_safe
def workspace_releases(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace, membership = get_workspace_for_user(request.user, workspace_id)
    requests = ReleaseRequest.objects.filter(dataset__workspace=workspace).select_related("dataset", "requested_by")
    return render(
        request, "releases/list.html", {"workspace": workspace, "requests": requests[:200], "reviewer": can(membership, "manage")}
    )
