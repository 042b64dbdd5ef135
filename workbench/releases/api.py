from django.http import JsonResponse

from workbench.access import can, get_release_for_user, get_turn_for_user, get_version_for_user, get_workspace_for_user
from workbench.http import BadRequest, api, json_body
from workbench.releases import actions
from workbench.releases.models import ReleaseRequest


@api("GET", "POST")
def request_run(request, turn_id: int):
    """GET: the declaration drafted from the turn's answer on the safe tier. POST {reason, query?}: file it (or the
    query given instead)."""
    if request.method == "GET":
        turn, _ = get_turn_for_user(request.user, turn_id)
        return JsonResponse(actions.draft_for_turn(turn))
    turn, _ = get_turn_for_user(request.user, turn_id, need="run")
    body = json_body(request)
    document = body.get("query")
    if document is None:
        draft = actions.draft_for_turn(turn)
        if "query" not in draft:
            raise BadRequest(f"No query was drafted from this answer ({draft.get('error', 'unknown reason')}); send one as 'query'.")
        document = draft["query"]
    release = actions.request_release(
        user=request.user, version=turn.conversation.version, document=document, reason=_reason(body), turn=turn
    )
    return _document(release, reviewer=False, status=201)


@api("POST")
def version_release(request, version_id: int):
    """POST {reason, query}: file a declared query written against a safe version."""
    version, _ = get_version_for_user(request.user, version_id, need="run")
    body = json_body(request)
    if "query" not in body:
        raise BadRequest("Send the declared query as 'query' (see GET /api/v1/openapi.json).")
    release = actions.request_release(user=request.user, version=version, document=body["query"], reason=_reason(body))
    return _document(release, reviewer=False, status=201)


@api("POST")
def precheck(request, version_id: int):
    """POST {query}: the declared query computed on this safe version with the release rules and the ledger."""
    version, _ = get_version_for_user(request.user, version_id, need="run")
    body = json_body(request)
    if "query" not in body:
        raise BadRequest("Send the declared query as 'query'.")
    if version.tier == "RAW":
        raise BadRequest("The pre-check runs on a safe version (SYNTHETIC or ANONYMIZED), never on RAW.")
    return JsonResponse(actions.precheck(version=version, document=body["query"], user=request.user))


def _reason(body: dict) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise BadRequest("'reason' must be a string.")
    return reason


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
    """A reviewer reads everything; anyone else the request as asked, its state in four words and, once released,
    the released cells."""
    checked = actions.read_checked(release) if release.sealed_output else None
    document = release.as_json() if reviewer else release.public_json()
    document["output"] = actions.read_released(release, checked)
    if reviewer:
        document["checked"] = checked
    return JsonResponse(document, status=status)


@api("GET")
def workspace_releases(request, workspace_id: int):
    workspace, membership = get_workspace_for_user(request.user, workspace_id)
    requests = ReleaseRequest.objects.filter(dataset__workspace=workspace).select_related("requested_by", "decided_by")[:500]
    reviewer = can(membership, "manage")
    return JsonResponse({"releases": [r.as_json(with_history=False) if reviewer else r.public_json() for r in requests]})
