"""Writing and verifying the tamper-evident audit log.

Every event is sealed with HMAC-SHA256 under a key derived (HKDF) from the site master key, over its fields, its
sequence number and the previous event's seal; a head row holds the last sequence number and seal, sealed too. So
changing a row, deleting one (anywhere, the newest included), inserting one or reordering them breaks the chain at
a place `verify_chain` names, and whoever can write the database but lacks the master key cannot re-seal it. What
it cannot show: the whole log rolled back to a state it really was in earlier, with its head (keep exports, or ship
the log to a write-once store, for that).
"""

import hashlib
import hmac
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.db import connection, transaction

from workbench.audit.models import AuditEvent, AuditHead

GENESIS = "0" * 64
_LOCK_ID = 7_400_211  # any constant; serialises appends on PostgreSQL


def _key() -> bytes:
    from workbench.storage import master_key

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"workbench audit chain v1").derive(master_key())


def _mac(key: bytes, body) -> str:
    return hmac.new(key, json.dumps(body, sort_keys=True, default=str).encode(), hashlib.sha256).hexdigest()


def _digest(key: bytes, event: AuditEvent) -> str:
    return _mac(
        key,
        [
            event.seq,
            event.prev_hash,
            event.actor_name,
            event.action,
            event.object_type,
            event.object_id,
            event.workspace_id,
            event.details,
            event.created_at.isoformat(),
        ],
    )


def _head_seal(key: bytes, seq: int, last: str) -> str:
    return _mac(key, ["head", seq, last])


def record_event(*, actor, action: str, obj=None, workspace_id: int | None = None, details: dict | None = None) -> AuditEvent:
    key = _key()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_ID])
        head = AuditHead.objects.select_for_update().filter(pk=1).first()
        seq, last = (head.seq, head.hash) if head else (0, GENESIS)
        event = AuditEvent(
            seq=seq + 1,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_name=getattr(actor, "username", "") or "system",
            action=action,
            object_type=type(obj).__name__.lower() if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            workspace_id=workspace_id,
            details=json.loads(json.dumps(details or {}, default=str)),
            prev_hash=last,
        )
        event.hash = _digest(key, event)
        event.save()
        AuditHead.objects.update_or_create(
            pk=1, defaults={"seq": event.seq, "hash": event.hash, "seal": _head_seal(key, event.seq, event.hash)}
        )
        return event


@dataclass(frozen=True)
class Break:
    """Where the chain first fails to hold, and how."""

    seq: int
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event #{self.seq}" + (f" (row id {self.event_id})" if self.event_id is not None else "")
        return f"{where}: {self.problem}"


def verify_chain() -> Break | None:
    """The first place the log does not hold, or None when every event and the head verify."""
    key = _key()
    previous, expected = GENESIS, 1
    for event in AuditEvent.objects.order_by("seq").iterator():
        if event.seq != expected:
            problem = (
                f"event #{expected} is missing (the next one is #{event.seq})" if event.seq > expected else "its sequence number repeats"
            )
            return Break(expected, event.id, problem)
        if event.prev_hash != previous:
            return Break(event.seq, event.id, "it does not link to the event before it (an event was removed, added or moved)")
        if not hmac.compare_digest(_digest(key, event), event.hash):
            return Break(event.seq, event.id, "its contents were changed after it was written (the seal does not match)")
        previous, expected = event.hash, expected + 1
    head = AuditHead.objects.filter(pk=1).first()
    last_seq = expected - 1
    if head is None:
        return Break(last_seq, None, "the chain's head row is missing") if last_seq else None
    if not hmac.compare_digest(_head_seal(key, head.seq, head.hash), head.seal):
        return Break(head.seq, None, "the chain's head row was changed")
    if head.seq != last_seq or head.hash != previous:
        return Break(last_seq + 1, None, f"the newest events were deleted: the head says #{head.seq}, the log ends at #{last_seq}")
    return None


def count() -> int:
    return AuditEvent.objects.count()
