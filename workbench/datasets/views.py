from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from workbench.access import get_dataset_for_user, get_version_for_user, get_workspace_for_user
from workbench.audit.actions import record_event
from workbench.datasets import actions
from workbench.datasets.downloads import download_response
from workbench.datasets.receive import UploadRejected, receive_upload
from workbench.http import BadRequest, int_param


@login_required
@require_POST
def upload(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace, _ = get_workspace_for_user(request.user, workspace_id, need="upload")
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    try:
        staged, name = receive_upload(request)
    except UploadRejected as rejected:
        if wants_json:
            return JsonResponse({"error": str(rejected)}, status=rejected.status)
        return render(request, "datasets/upload_error.html", {"workspace": workspace, "error": str(rejected)}, status=rejected.status)
    job = actions.start_upload(workspace=workspace, user=request.user, staged=staged, name=name)
    if wants_json:
        return JsonResponse({"job": job.pk, "url": f"/jobs/{job.pk}/"}, status=202)
    return redirect("job", job.pk)


@login_required
@require_POST
def purge(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset, _ = get_dataset_for_user(request.user, dataset_id, need="manage")
    if request.POST.get("confirm") != dataset.name:
        messages.error(request, "Type the dataset's name to confirm; nothing was deleted.")
        return redirect("dataset", dataset.pk)
    workspace_id = dataset.workspace_id
    actions.purge_dataset(dataset=dataset, user=request.user)
    messages.success(request, f"Deleted {dataset.name} and all its files.")
    return redirect("workspace", workspace_id)


@login_required
@require_safe
def preview(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id)
    try:
        page = int_param(request, "page", 1)
    except BadRequest:
        page = 1
    record_event(
        actor=request.user,
        action="version.preview",
        obj=version,
        workspace_id=version.dataset.workspace_id,
        details={"tier": version.tier, "page": page},
    )
    return render(request, "datasets/_preview.html", {"version": version, "preview": actions.preview(version, page=page, page_size=25)})


@login_required
@require_safe
def download(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id)
    try:
        return download_response(request, version)
    except BadRequest as bad:
        return HttpResponse(str(bad), status=400, content_type="text/plain")


@login_required
@require_POST
def reprofile(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id, need="run")
    job = actions.start_profile(version=version, user=request.user)
    return redirect("job", job.pk)
