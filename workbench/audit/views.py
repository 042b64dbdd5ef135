import csv
import io
import json
from datetime import datetime
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from workbench.access import get_workspace_for_user
from workbench.audit.actions import record_event
from workbench.audit.models import AuditEvent

EXPORT_COLUMNS = ["seq", "at", "actor", "action", "object_type", "object_id", "workspace", "details", "hash"]


def _day(text: str, *, end: bool = False):
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return None
    if end:
        day = day.replace(hour=23, minute=59, second=59, microsecond=999999)
    return timezone.make_aware(day)


def filtered(workspace, params) -> tuple:
    """A workspace's events, narrowed by the page's filters: action (a prefix: 'release' or 'release.approve'),
    actor, object type and id, and a date range."""
    members = list(workspace.memberships.values_list("user__username", flat=True))
    sign_ins = Q(action__startswith="auth.", actor_name__in=members) | Q(action="auth.login_failed", details__username__in=members)
    events = AuditEvent.objects.filter(Q(workspace_id=workspace.pk) | sign_ins)
    chosen = {}
    for name, lookup in (
        ("action", "action__startswith"),
        ("actor", "actor_name"),
        ("object_type", "object_type"),
        ("object_id", "object_id"),
    ):
        value = (params.get(name) or "").strip()[:150]
        if value:
            events, chosen[name] = events.filter(**{lookup: value}), value
    for name, end in (("since", False), ("until", True)):
        day = _day((params.get(name) or "").strip(), end=end)
        if day is not None:
            events = events.filter(**{"created_at__lte" if end else "created_at__gte": day})
            chosen[name] = params.get(name)
    return events.order_by("-seq"), chosen


@login_required
@require_safe
def audit_log(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace, _ = get_workspace_for_user(request.user, workspace_id, need="manage")
    events, chosen = filtered(workspace, request.GET)
    export = request.GET.get("format")
    if export in ("csv", "json"):
        record_event(
            actor=request.user,
            action="audit.export",
            obj=workspace,
            workspace_id=workspace.pk,
            details={"format": export, "filters": chosen},
        )
        return _export(events, export, workspace)
    page = Paginator(events, 100).get_page(request.GET.get("page") or 1)
    actions = AuditEvent.objects.filter(workspace_id=workspace.pk).values_list("action", flat=True).distinct().order_by("action")
    query = urlencode(chosen)
    return render(
        request, "audit/log.html", {"workspace": workspace, "page": page, "chosen": chosen, "actions": list(actions), "query": query}
    )


def _export(events, kind: str, workspace) -> HttpResponse:
    rows = [event.as_json() for event in events.iterator()]
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if kind == "json":
        response = HttpResponse(json.dumps({"workspace": workspace.pk, "events": rows}, indent=1), content_type="application/json")
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            # a spreadsheet runs a cell that starts with = + - @ as a formula: quote those
            values = [json.dumps(row["details"]) if c == "details" else row[c] for c in EXPORT_COLUMNS]
            writer.writerow(["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for v in values])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-workspace-{workspace.pk}-{stamp}.{kind}"'
    return response
