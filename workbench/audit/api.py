from django.http import JsonResponse

from workbench.access import get_workspace_for_user
from workbench.audit.views import filtered
from workbench.http import api

MAX_EVENTS = 10_000


@api("GET")
def events(request, workspace_id: int):
    """The workspace's audit events, newest first, with the page's filters (action, actor, object_type, object_id,
    since, until); owners only."""
    workspace, _ = get_workspace_for_user(request.user, workspace_id, need="manage")
    found, chosen = filtered(workspace, request.GET)
    rows = [event.as_json() for event in found[:MAX_EVENTS]]
    return JsonResponse({"workspace": workspace.pk, "filters": chosen, "events": rows, "truncated": len(rows) == MAX_EVENTS})
