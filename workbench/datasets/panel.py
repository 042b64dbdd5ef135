"""What the datasets stage shows on the shared pages: a version's facts, profile and running job."""

from workbench.access import can
from workbench.datasets import actions


def version_panel(version, membership) -> dict:
    profile = actions.read_profile(version)
    charts = {i: c["chart"] for i, c in enumerate(profile["columns"]) if c.get("chart")} if profile else {}
    return {
        "profile": profile,
        "charts": charts,
        "active_job": version.jobs.exclude(status__in=["succeeded", "failed", "cancelled"]).exclude(kind="ask").first(),
        "last_job": version.jobs.first(),
        "can_run": can(membership, "run"),
    }
