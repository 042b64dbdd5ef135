"""The per-dataset privacy budget: what differentially private runs may spend in total, and what they spent.

Spending adds up by basic sequential composition (ε and δ each summed), which is loose but never wrong."""

from django.conf import settings
from django.db.models import Sum

from workbench.errors import Refused
from workbench.synthesis.models import PrivacySpend


def budget(dataset) -> dict:
    configured = dataset.policy.get("dp_budget", {})
    return {
        "epsilon": float(configured.get("epsilon", settings.DP_BUDGET_EPSILON)),
        "delta": float(configured.get("delta", settings.DP_BUDGET_DELTA)),
    }


def spent(dataset) -> dict:
    totals = PrivacySpend.objects.filter(dataset=dataset).aggregate(epsilon=Sum("epsilon"), delta=Sum("delta"))
    return {"epsilon": round(totals["epsilon"] or 0.0, 9), "delta": round(totals["delta"] or 0.0, 12)}


def summary(dataset) -> dict:
    total, used = budget(dataset), spent(dataset)
    return {
        "budget": total,
        "spent": used,
        "left": {
            "epsilon": round(max(0.0, total["epsilon"] - used["epsilon"]), 9),
            "delta": round(max(0.0, total["delta"] - used["delta"]), 12),
        },
        "entries": [entry.as_json() for entry in PrivacySpend.objects.filter(dataset=dataset).select_related("created_by")],
    }


def spend(*, dataset, epsilon: float, delta: float, user, job=None) -> PrivacySpend:
    """Record a run's spending, or refuse it (Refused) when it would pass the budget. Call inside a transaction
    that has locked the dataset row, so two runs cannot both take the last of the budget."""
    total, used = budget(dataset), spent(dataset)
    if used["epsilon"] + epsilon > total["epsilon"] + 1e-12 or used["delta"] + delta > total["delta"] + 1e-18:
        raise Refused(
            f"This run would spend ε = {epsilon:g} (δ = {delta:g}), but the dataset's privacy budget has "
            f"ε = {max(0.0, total['epsilon'] - used['epsilon']):g} (δ = {max(0.0, total['delta'] - used['delta']):g}) left "
            f"of ε = {total['epsilon']:g} (δ = {total['delta']:g}); nothing was run."
        )
    return PrivacySpend.objects.create(
        dataset=dataset, epsilon=epsilon, delta=delta, created_by=user if getattr(user, "pk", None) else None, job=job
    )
