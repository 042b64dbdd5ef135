from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from workbench.accounts import actions
from workbench.accounts.access import can_create_workspace
from workbench.accounts.models import Membership
from workbench.console import doctor
from workbench.jobs.models import Job


@login_required
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
