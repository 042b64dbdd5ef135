from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from workbench.accounts.access import can, can_read_tier, get_dataset_for_user, get_version_for_user, get_workspace_for_user
from workbench.analysis import actions as analysis
from workbench.datasets import actions
from workbench.datasets import charts as chart_figures
from workbench.datasets.downloads import download_response
from workbench.datasets.receive import UploadRejected, receive_upload
from workbench.http import BadRequest, int_param
from workbench.privacy import actions as privacy
from workbench.privacy import views as privacy_views
from workbench.synthesis import actions as synthesis
from workbench.synthesis import ledger
from workbench.synthesis.generators import LABELS


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
def dataset(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset, membership = get_dataset_for_user(request.user, dataset_id)
    versions = [(v, can_read_tier(membership, dataset, v.tier)) for v in dataset.versions.select_related("created_by", "parent")]
    synthetic = [v for v, readable in versions if readable and v.tier == "SYNTHETIC" and v.made_by.get("kind") == "synthesize"]
    context = {
        "dataset": dataset,
        "membership": membership,
        "versions": versions,
        "can_manage": can(membership, "manage"),
        "synthetic": synthetic,
        "privacy_budget": ledger.summary(dataset),
    }
    return render(request, "datasets/dataset.html", context)


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
def version(request: HttpRequest, version_id: int) -> HttpResponse:
    version, membership = get_version_for_user(request.user, version_id)
    profile = actions.read_profile(version)
    charts = {i: c["chart"] for i, c in enumerate(profile["columns"]) if c.get("chart")} if profile else {}
    scan = privacy.read_scan(version)
    for column in (scan or {}).get("columns", []):
        column["kind_label"] = column["kind"].replace("_", " ")
    can_run = can(membership, "run")
    editor = privacy_views.editor_context(version, privacy.proposed_policy(version, scan), scan=scan) if scan and can_run else None
    if version.made_by.get("risk_after"):
        charts["risk"] = chart_figures.class_sizes(
            before=version.made_by["risk_before"]["class_size_histogram"], after=version.made_by["risk_after"]["class_size_histogram"]
        )
    evaluation = synthesis.read_report(version)
    if evaluation:
        charts["synthesis"] = chart_figures.column_scores(evaluation["fidelity"]["per_column"])
    active = version.jobs.exclude(status__in=["succeeded", "failed", "cancelled"]).exclude(kind="ask").first()
    return render(
        request,
        "datasets/version.html",
        {
            "version": version,
            "dataset": version.dataset,
            "profile": profile,
            "charts": charts,
            "active_job": active,
            "last_job": version.jobs.first(),
            "can_run": can_run,
            "scan": scan,
            "editor": editor,
            "evaluation": evaluation,
            "synthesis_methods": list(LABELS.items()),
            "privacy_budget": ledger.summary(version.dataset),
            "interpreter_tier": analysis.interpreter_tier(version.dataset),
            "conversations": version.conversations.all()[:20],
        },
    )


@login_required
def preview(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id)
    try:
        page = int_param(request, "page", 1)
    except BadRequest:
        page = 1
    return render(request, "datasets/_preview.html", {"version": version, "preview": actions.preview(version, page=page, page_size=25)})


@login_required
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
