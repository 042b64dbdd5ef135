"""What the analysis stage shows on the shared version page: the interpreter's tier and the conversations."""

from workbench.analysis import actions


def version_panel(version, membership) -> dict:
    return {"interpreter_tier": actions.interpreter_tier(version.dataset), "conversations": version.conversations.all()[:20]}
