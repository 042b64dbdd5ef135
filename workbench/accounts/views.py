from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from workbench.access import can, can_read_tier, get_workspace_for_user
from workbench.accounts import actions
from workbench.accounts.models import Role


@login_required
@require_safe
def workspace(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace, membership = get_workspace_for_user(request.user, workspace_id)
    datasets = workspace.datasets.prefetch_related("versions")
    rows = [(d, [v for v in d.versions.all() if can_read_tier(membership, d, v.tier)]) for d in datasets]
    recent = _recent_jobs(workspace)
    return render(
        request,
        "accounts/workspace.html",
        {
            "workspace": workspace,
            "membership": membership,
            "datasets": rows,
            "members": workspace.memberships.select_related("user"),
            "jobs": recent,
            "running": any(not job.is_finished for job in recent),
            "can_upload": can(membership, "upload"),
            "can_manage": can(membership, "manage"),
            "roles": Role.choices,
        },
    )


def _recent_jobs(workspace) -> list:
    return list(workspace.jobs.filter(kind__in=["ingest", "profile"]).select_related("dataset")[:8])


@login_required
@require_safe
def jobs(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """The job table fragment, polled by the workspace page while a job runs."""
    workspace, _ = get_workspace_for_user(request.user, workspace_id)
    recent = _recent_jobs(workspace)
    running = any(not job.is_finished for job in recent)
    response = render(request, "accounts/_jobs.html", {"workspace": workspace, "jobs": recent, "running": running})
    if not running:
        response["HX-Trigger"] = "job-finished"  # the page reloads to show the new dataset
    return response


@login_required
@require_POST
def members(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace, _ = get_workspace_for_user(request.user, workspace_id, need="manage")
    username = request.POST.get("username", "").strip()
    try:
        if request.POST.get("action") == "remove":
            actions.remove_membership(workspace=workspace, actor=request.user, username=username)
            messages.success(request, f"Removed {username}.")
        else:
            actions.set_membership(
                workspace=workspace,
                actor=request.user,
                username=username,
                role=request.POST.get("role", ""),
                can_read_raw=request.POST.get("can_read_raw") == "on",
            )
            messages.success(request, f"{username} is now {request.POST.get('role')}.")
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
    return redirect("workspace", workspace.pk)
