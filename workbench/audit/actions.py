"""Writing and verifying the tamper-evident audit log."""

import hashlib
import json

from django.db import connection, transaction

from workbench.audit.models import AuditEvent

GENESIS = "0" * 64
_LOCK_ID = 7_400_211  # any constant; serialises appends on PostgreSQL


def _digest(event: AuditEvent) -> str:
    body = json.dumps(
        [
            event.prev_hash,
            event.actor_name,
            event.action,
            event.object_type,
            event.object_id,
            event.workspace_id,
            event.details,
            event.created_at.isoformat(),
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record_event(*, actor, action: str, obj=None, workspace_id: int | None = None, details: dict | None = None) -> AuditEvent:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_ID])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            actor=actor if getattr(actor, "pk", None) else None,
            actor_name=getattr(actor, "username", "") or "system",
            action=action,
            object_type=type(obj).__name__.lower() if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            workspace_id=workspace_id,
            details=details or {},
            prev_hash=last or GENESIS,
        )
        event.hash = _digest(event)
        event.save()
        return event


def verify_chain() -> int | None:
    """The id of the first event whose hash or link does not hold, or None when the log is intact."""
    previous = GENESIS
    for event in AuditEvent.objects.order_by("id").iterator():
        if event.prev_hash != previous or _digest(event) != event.hash:
            return event.id
        previous = event.hash
    return None
