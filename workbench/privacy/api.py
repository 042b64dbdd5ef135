from django.http import JsonResponse

from workbench.access import get_version_for_user, get_workspace_for_user
from workbench.http import BadRequest, api, json_body
from workbench.privacy import actions
from workbench.privacy.models import Policy


@api("GET", "POST")
def scan(request, version_id: int):
    if request.method == "POST":
        version, _ = get_version_for_user(request.user, version_id, need="run")
        return JsonResponse({"job": actions.start_scan(version=version, user=request.user).as_json()}, status=202)
    version, _ = get_version_for_user(request.user, version_id)
    return JsonResponse({"scan": actions.read_scan(version), "proposed_policy": actions.proposed_policy(version)})


@api("POST")
def anonymize(request, version_id: int):
    version, _ = get_version_for_user(request.user, version_id, need="run")
    body = json_body(request)
    if "policy" in body:
        policy = Policy.objects.filter(workspace=version.dataset.workspace, pk=body["policy"]).first()
        if policy is None:
            raise BadRequest("No such policy in this workspace.")
        rules, name = actions.policy_for_columns(policy, version.schema), policy.name
    elif isinstance(body.get("rules"), dict):
        rules, name = body["rules"], str(body.get("save_as", ""))
        if name:
            actions.save_policy(workspace=version.dataset.workspace, user=request.user, name=name, rules=rules, schema=version.schema)
    elif body.get("rules") == "auto":
        rules, name = actions.proposed_policy(version), "proposed"
        if rules is None:
            raise BadRequest("Scan this version first (POST …/scan), or send the rules.")
    else:
        raise BadRequest("Send 'rules' (a policy object, or \"auto\"), or 'policy' (the id of a saved policy).")
    job = actions.start_anonymize(version=version, user=request.user, rules=rules, policy_name=name)
    return JsonResponse({"job": job.as_json()}, status=202)


@api("GET", "POST")
def policies(request, workspace_id: int):
    if request.method == "POST":
        workspace, _ = get_workspace_for_user(request.user, workspace_id, need="run")
        body = json_body(request)
        if not isinstance(body.get("rules"), dict):
            raise BadRequest("Send 'name' and 'rules' (a policy object).")
        policy = actions.save_policy(workspace=workspace, user=request.user, name=str(body.get("name", "")), rules=body["rules"])
        return JsonResponse(policy.as_json(), status=201)
    workspace, _ = get_workspace_for_user(request.user, workspace_id)
    return JsonResponse({"policies": [p.as_json() for p in workspace.policies.all()]})
