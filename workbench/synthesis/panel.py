"""What the synthesis stage shows on the shared pages: a version's evaluation, the generators, the ε budget."""

from workbench.datasets import charts as chart_figures
from workbench.synthesis import actions, ledger
from workbench.synthesis.generators import LABELS


def version_panel(version, membership) -> dict:
    evaluation = actions.read_report(version)
    charts = {"synthesis": chart_figures.column_scores(evaluation["fidelity"]["per_column"])} if evaluation else {}
    from workbench.access import can

    preview = actions.plan_preview(version) if can(membership, "run") and version.row_count else None
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
