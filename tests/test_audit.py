import pytest

from workbench.audit.actions import record_event, verify_chain
from workbench.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_chain_verifies_and_detects_tampering(users):
    for i in range(5):
        record_event(actor=users["alice"], action="test.event", details={"i": i})
    assert verify_chain() is None
    event = AuditEvent.objects.filter(action="test.event").order_by("id")[2]
    AuditEvent.objects.filter(pk=event.pk).update(actor_name="mallory")
    assert verify_chain() == event.pk


def test_a_deleted_event_breaks_the_chain(users):
    for i in range(3):
        record_event(actor=users["alice"], action="test.event", details={"i": i})
    middle = AuditEvent.objects.filter(action="test.event").order_by("id")[1]
    middle.delete()
    assert verify_chain() is not None


def test_an_upload_is_audited_without_values(upload, workspace):
    upload("alice", workspace, "t.csv", b"name\nSecretName\nOther\n")
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "dataset.upload" in actions and "version.create" in actions
    assert all("SecretName" not in str(e.details) for e in AuditEvent.objects.all())
