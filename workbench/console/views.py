from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from workbench.access import can_create_workspace, get_dataset_for_user, get_workspace_for_user
from workbench.accounts import actions
from workbench.accounts.models import Membership, Role
from workbench.audit import views as audit_views
from workbench.audit.actions import record_event
from workbench.console import compliance, doctor
from workbench.datasets.policy import effective, set_policy
from workbench.datasets.policy import from_form as policy_from_form
from workbench.errors import Refused
from workbench.jobs.models import Job
from workbench.releases.models import OPEN_STATES, ReleaseRequest
from workbench.synthesis import ledger


@login_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user=request.user).select_related("workspace").order_by("workspace__name")
    recent_jobs = Job.objects.filter(workspace__memberships__user=request.user).select_related("dataset")[:10]
    health = doctor.summary() if request.user.is_staff else None
    return render(
        request,
        "console/home.html",
        {"memberships": memberships, "recent_jobs": recent_jobs, "can_create": can_create_workspace(request.user), "health": health},
    )


@login_required
@require_POST
def create_workspace(request: HttpRequest) -> HttpResponse:
    try:
        workspace = actions.create_workspace(
            user=request.user, name=request.POST.get("name", ""), description=request.POST.get("description", "")
        )
    except (PermissionDenied, ValidationError) as problem:
        messages.error(request, " ".join(getattr(problem, "messages", [str(problem)])))
        return redirect("home")
    return redirect("workspace", workspace.pk)


def health(request: HttpRequest) -> HttpResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@login_required
@require_safe
def owner_console(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """A data owner's view of a workspace: members and RAW grants, each dataset's policy, release requests waiting
    for a decision, and the newest audit events."""
    workspace, membership = get_workspace_for_user(request.user, workspace_id, need="manage")
    datasets = [(d, effective(d.policy), ledger.summary(d)) for d in workspace.datasets.all()]
    pending = ReleaseRequest.objects.filter(dataset__workspace=workspace, state__in=OPEN_STATES).select_related("dataset", "requested_by")
    events, _ = audit_views.filtered(workspace, {})
    context = {
        "workspace": workspace,
        "members": workspace.memberships.select_related("user"),
        "datasets": datasets,
        "pending": pending,
        "events": events[:15],
        "roles": Role.choices,
    }
    return render(request, "console/owner.html", context)


@login_required
def dataset_policy(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset, _ = get_dataset_for_user(request.user, dataset_id, need="manage")
    problems = []
    if request.method == "POST":
        try:
            set_policy(dataset=dataset, user=request.user, policy=policy_from_form(request.POST))
            messages.success(request, "The policy is saved; the change is in the audit log.")
            return redirect("dataset_policy", dataset.pk)
        except Refused as refused:
            problems = [str(refused)]
    return render(
        request,
        "console/policy.html",
        {"dataset": dataset, "policy": effective(dataset.policy), "problems": problems},
        status=400 if problems else 200,
    )


@login_required
@require_safe
def compliance_report(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset, _ = get_dataset_for_user(request.user, dataset_id, need="manage")
    report = compliance.build(dataset)
    record_event(
        actor=request.user,
        action="dataset.report",
        obj=dataset,
        workspace_id=dataset.workspace_id,
        details={"format": request.GET.get("format", "html")},
    )
    if request.GET.get("format") == "pdf":
        response = HttpResponse(compliance.pdf(report), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="compliance-dataset-{dataset.pk}.pdf"'
        return response
    return render(request, "console/compliance.html", {"dataset": dataset, "report": report})
