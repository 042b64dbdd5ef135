from django.http import JsonResponse

from workbench.access import can, get_release_for_user, get_turn_for_user, get_workspace_for_user
from workbench.http import BadRequest, api, json_body
from workbench.releases import actions
from workbench.releases.models import ReleaseRequest


@api("POST")
def request_run(request, turn_id: int):
    turn, _ = get_turn_for_user(request.user, turn_id, need="run")
    reason = json_body(request).get("reason", "")
    if not isinstance(reason, str):
        raise BadRequest("'reason' must be a string.")
    release = actions.request_release(turn=turn, user=request.user, reason=reason)
    return _document(release, reviewer=False, status=201)


@api("GET")
def release(request, release_id: int):
    release, membership = get_release_for_user(request.user, release_id)
    return _document(release, reviewer=can(membership, "manage"))


@api("POST")
def decide(request, release_id: int, decision: str):
    release, _ = get_release_for_user(request.user, release_id, need="manage")
    if decision == "approve":
        release = actions.approve_release(request=release, user=request.user)
    elif decision == "reject":
        release = actions.reject_release(request=release, user=request.user, note=str(json_body(request).get("note", "")))
    else:
        release = actions.release_output(request=release, user=request.user)
    return _document(release, reviewer=True)


def _document(release, *, reviewer: bool, status: int = 200):
    document = release.as_json()
    checked = actions.read_checked(release) if release.sealed_output else None
    document["output"] = actions.read_released(release, checked)
    if reviewer:
        document["checked"] = checked
    return JsonResponse(document, status=status)


@api("GET")
def workspace_releases(request, workspace_id: int):
    workspace, _ = get_workspace_for_user(request.user, workspace_id)
    requests = ReleaseRequest.objects.filter(dataset__workspace=workspace).select_related("requested_by", "decided_by")[:500]
    return JsonResponse({"releases": [r.as_json(with_history=False) for r in requests]})
