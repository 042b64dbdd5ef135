from django.contrib.auth import authenticate
from django.http import JsonResponse

from workbench.access import get_workspace_for_user
from workbench.accounts import actions
from workbench.accounts.models import ApiToken, Membership
from workbench.audit.actions import record_event
from workbench.http import BadRequest, api, error, json_body


@api("POST", auth=False)
def token(request):
    body = json_body(request) if request.content_type == "application/json" else request.POST
    user = authenticate(request, username=body.get("username", ""), password=body.get("password", ""))
    if user is None:
        return error("Wrong username or password.", 401)
    _, raw = ApiToken.issue(user)
    record_event(actor=user, action="auth.token", obj=user)
    return JsonResponse({"token": raw, "token_type": "Bearer", "username": user.username}, status=201)


def _workspace_json(workspace, membership) -> dict:
    return {"id": workspace.pk, "name": workspace.name, "description": workspace.description, "role": membership.role}


@api("GET", "POST")
def workspaces(request):
    if request.method == "POST":
        body = json_body(request)
        workspace = actions.create_workspace(
            user=request.user, name=str(body.get("name", "")), description=str(body.get("description", ""))
        )
        return JsonResponse(_workspace_json(workspace, workspace.memberships.get(user=request.user)), status=201)
    memberships = Membership.objects.filter(user=request.user).select_related("workspace")
    return JsonResponse({"workspaces": [_workspace_json(m.workspace, m) for m in memberships]})


@api("GET")
def workspace(request, workspace_id: int):
    workspace, membership = get_workspace_for_user(request.user, workspace_id)
    return JsonResponse(_workspace_json(workspace, membership))


@api("GET", "POST", "DELETE")
def members(request, workspace_id: int):
    need = "read" if request.method == "GET" else "manage"
    workspace, _ = get_workspace_for_user(request.user, workspace_id, need=need)
    if request.method == "POST":
        body = json_body(request)
        if not body.get("username") or not body.get("role"):
            raise BadRequest("Give 'username' and 'role' (owner, analyst or viewer).")
        actions.set_membership(
            workspace=workspace,
            actor=request.user,
            username=str(body["username"]),
            role=str(body["role"]),
            can_read_raw=bool(body.get("can_read_raw", False)),
        )
    if request.method == "DELETE":
        actions.remove_membership(workspace=workspace, actor=request.user, username=request.GET.get("username", ""))
    rows = workspace.memberships.select_related("user")
    return JsonResponse(
        {"members": [{"username": m.user.username, "role": m.role, "can_read_raw": m.can_read_raw} for m in rows]},
        status=201 if request.method == "POST" else 200,
    )
