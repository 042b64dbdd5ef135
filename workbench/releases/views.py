from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from workbench.access import can, get_release_for_user, get_turn_for_user, get_workspace_for_user
from workbench.errors import Refused
from workbench.releases import actions
from workbench.releases.models import ReleaseRequest


@login_required
@require_POST
def request_run(request: HttpRequest, turn_id: int) -> HttpResponse:
    turn, _ = get_turn_for_user(request.user, turn_id, need="run")
    try:
        release = actions.request_release(turn=turn, user=request.user, reason=request.POST.get("reason", ""))
    except Refused as refused:
        messages.error(request, str(refused))
        return redirect("conversation", turn.conversation_id)
    messages.success(request, "Requested: an owner of this workspace reviews the run on the real data.")
    return redirect("release", release.pk)


@login_required
@require_safe
def release(request: HttpRequest, release_id: int) -> HttpResponse:
    release, membership = get_release_for_user(request.user, release_id)
    reviewer = can(membership, "manage")
    checked = actions.read_checked(release) if release.sealed_output else None
    context = {
        "release": release,
        "reviewer": reviewer,
        "own": release.requested_by_id == request.user.pk,
        "code": actions.read_code(release),
        "safe_result": actions.read_safe_result(release),
        "checked": checked if reviewer else None,
        "released": actions.read_released(release, checked),
        # what was let out before: a reviewer compares, since two releases can be subtracted (differencing)
        "earlier": ReleaseRequest.objects.filter(dataset=release.dataset, state="released")
        .exclude(pk=release.pk)
        .select_related("requested_by")[:20]
        if reviewer
        else [],
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
