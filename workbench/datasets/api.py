from django.http import FileResponse, JsonResponse, StreamingHttpResponse

from workbench.access import can_read_tier, get_dataset_for_user, get_version_for_user, get_workspace_for_user
from workbench.datasets import actions
from workbench.datasets.downloads import download_response
from workbench.datasets.receive import UploadRejected, receive_upload
from workbench.http import api, error, int_param, json_body


def _dataset_json(dataset, membership) -> dict:
    versions = [
        dict(v.as_json(), readable=can_read_tier(membership, dataset, v.tier)) for v in dataset.versions.select_related("created_by")
    ]
    return {
        "id": dataset.pk,
        "workspace": dataset.workspace_id,
        "name": dataset.name,
        "description": dataset.description,
        "policy": dataset.policy,
        "created_at": dataset.created_at.isoformat(),
        "versions": versions,
    }


@api("GET", "POST")
def datasets(request, workspace_id: int):
    if request.method == "POST":
        workspace, _ = get_workspace_for_user(request.user, workspace_id, need="upload")
        try:
            staged, name = receive_upload(request)
        except UploadRejected as rejected:
            return error(str(rejected), rejected.status)
        job = actions.start_upload(workspace=workspace, user=request.user, staged=staged, name=name)
        return JsonResponse({"job": job.as_json()}, status=202)
    workspace, membership = get_workspace_for_user(request.user, workspace_id)
    return JsonResponse({"datasets": [_dataset_json(d, membership) for d in workspace.datasets.prefetch_related("versions")]})


@api("GET", "DELETE")
def dataset(request, dataset_id: int):
    if request.method == "DELETE":
        dataset, _ = get_dataset_for_user(request.user, dataset_id, need="manage")
        removed = actions.purge_dataset(dataset=dataset, user=request.user)
        return JsonResponse({"purged": dataset_id, "files_removed": removed})
    dataset, membership = get_dataset_for_user(request.user, dataset_id)
    return JsonResponse(_dataset_json(dataset, membership))


@api("GET")
def version(request, version_id: int):
    version, _ = get_version_for_user(request.user, version_id)
    body = version.as_json()
    body["profile"] = actions.read_profile(version)
    body["jobs"] = [job.as_json() for job in version.jobs.all()[:20]]
    return JsonResponse(body)


@api("GET")
def preview(request, version_id: int):
    version, _ = get_version_for_user(request.user, version_id)
    page = int_param(request, "page", 1)
    page_size = int_param(request, "page_size", 50, maximum=500)
    return JsonResponse(actions.preview(version, page=page, page_size=page_size))


@api("GET")
def download(request, version_id: int) -> FileResponse | StreamingHttpResponse:
    version, _ = get_version_for_user(request.user, version_id)
    return download_response(request, version)


@api("GET", "POST")
def policy(request, dataset_id: int):
    """A dataset's policy with its defaults filled in; POST replaces it (owners only)."""
    from workbench.datasets import policy as policies

    dataset, _ = get_dataset_for_user(request.user, dataset_id, need="manage")
    if request.method == "POST":
        dataset = policies.set_policy(dataset=dataset, user=request.user, policy=json_body(request))
    return JsonResponse({"dataset": dataset.pk, "policy": policies.effective(dataset.policy)})


@api("POST")
def reveal(request, dataset_id: int):
    """The value a reversible pseudonym (`enc:…`, the `encrypt` operator) of this dataset stands for: owners only, audited."""
    from workbench.privacy.actions import reveal as reveal_value

    dataset, _ = get_dataset_for_user(request.user, dataset_id, need="manage")
    body = json_body(request)
    original = reveal_value(dataset=dataset, user=request.user, token=body.get("value") if isinstance(body, dict) else None)
    return JsonResponse({"dataset": dataset.pk, "original": original})
