"""Audit events for sign-ins, successful or not (never the password)."""

from workbench.audit.actions import record_event


def signed_in(sender, request, user, **kwargs) -> None:
    record_event(actor=user, action="auth.login", obj=user)


def sign_in_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    name = str(credentials.get("username", ""))[:150]
    record_event(actor=None, action="auth.login_failed", details={"username": name})
