"""What the synthesis stage shows on the shared pages: a version's evaluation, the generators, the ε budget."""

import logging

from workbench.datasets import charts as chart_figures
from workbench.synthesis import actions, ledger
from workbench.synthesis.generators import LABELS

log = logging.getLogger(__name__)


def version_panel(version, membership) -> dict:
    evaluation = actions.read_report(version)
    charts = {"synthesis": chart_figures.column_scores(evaluation["fidelity"]["per_column"])} if evaluation else {}
    from workbench.access import can

    preview = None
    if can(membership, "run") and version.row_count:
        try:
            preview = actions.plan_preview(version)
        except Exception as error:  # the page still shows; the run itself reports what is wrong
            log.warning("synthesis plan preview failed for version %s: %s", version.pk, type(error).__name__)
            preview = {"columns": [], "problem": "The plan could not be worked out before the run; the run will say why."}
    return {
        "synthesis_plan": preview,
        "evaluation": evaluation,
        "charts": charts,
        "synthesis_methods": list(LABELS.items()),
        "privacy_budget": ledger.summary(version.dataset),
    }


def dataset_panel(dataset, membership, readable_versions) -> dict:
    synthetic = [v for v in readable_versions if v.tier == "SYNTHETIC" and v.made_by.get("kind") == "synthesize"]
    return {"synthetic": synthetic, "privacy_budget": ledger.summary(dataset)}
