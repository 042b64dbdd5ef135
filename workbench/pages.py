"""Pages that show several stages: a dataset and a version. Each stage gives its panel (`<stage>/panel.py`): a dict
of what its section of the page needs, and the charts it draws (merged into one map the page's script reads)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from workbench.access import can, can_read_tier, get_dataset_for_user, get_version_for_user
from workbench.analysis import panel as analysis_panel
from workbench.analysis.charts import clean_figure
from workbench.audit.actions import record_event
from workbench.datasets import panel as datasets_panel
from workbench.privacy import panel as privacy_panel
from workbench.releases import panel as releases_panel
from workbench.synthesis import panel as synthesis_panel

VERSION_PANELS = (datasets_panel, privacy_panel, synthesis_panel, analysis_panel)


@login_required
@require_safe
def dataset(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset, membership = get_dataset_for_user(request.user, dataset_id)
    versions = [(v, can_read_tier(membership, dataset, v.tier)) for v in dataset.versions.select_related("created_by", "parent")]
    readable = [v for v, ok in versions if ok]
    context = {"dataset": dataset, "membership": membership, "versions": versions, "can_manage": can(membership, "manage")}
    context |= synthesis_panel.dataset_panel(dataset, membership, readable)
    context |= releases_panel.dataset_panel(dataset, membership)
    return render(request, "pages/dataset.html", context)


@login_required
@require_safe
def version(request: HttpRequest, version_id: int) -> HttpResponse:
    version, membership = get_version_for_user(request.user, version_id)
    context = {"version": version, "dataset": version.dataset, "membership": membership}
    charts = {}
    for panel in VERSION_PANELS:
        section = panel.version_panel(version, membership)
        # profile charts hold an uploaded table's values as labels: each drawn only through the chart allowlist
        charts |= {name: clean_figure(figure) for name, figure in section.pop("charts", {}).items()}
        context |= section
    context["charts"] = charts
    record_event(
        actor=request.user, action="version.view", obj=version, workspace_id=version.dataset.workspace_id, details={"tier": version.tier}
    )
    return render(request, "pages/version.html", context)
