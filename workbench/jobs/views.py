from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from workbench.access import can, get_job_for_user
from workbench.errors import Refused
from workbench.jobs import actions


@login_required
@require_safe
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    job, membership = get_job_for_user(request.user, job_id)
    return render(request, "jobs/job.html", {"job": job, "can_run": can(membership, "run")})


@login_required
@require_safe
def status(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress fragment that the job page polls with htmx until the job finishes."""
    job, membership = get_job_for_user(request.user, job_id)
    response = render(request, "jobs/_status.html", {"job": job, "can_run": can(membership, "run")})
    if job.is_finished and request.headers.get("HX-Request"):
        response["HX-Trigger"] = "job-finished"
    return response


@login_required
@require_POST
def cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job, _ = get_job_for_user(request.user, job_id, need="run")
    actions.cancel_job(job=job, user=request.user)
    return redirect("job", job.pk)


@login_required
@require_POST
def retry(request: HttpRequest, job_id: int) -> HttpResponse:
    job, _ = get_job_for_user(request.user, job_id, need="run")
    try:
        actions.retry_job(job=job, user=request.user)
    except Refused as problem:
        messages.error(request, str(problem))
    return redirect("job", job.pk)
