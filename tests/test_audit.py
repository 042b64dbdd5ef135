"""The audit log: every access and decision an event, sealed into a chain that `manage.py verify_audit` checks and
that names the first event that does not hold, however the rows were changed."""

import io

import pytest
from django.core.management import CommandError, call_command

from workbench.audit.actions import record_event, verify_chain
from workbench.audit.models import AuditEvent, AuditHead

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(users):
    for i in range(6):
        record_event(actor=users["alice"], action="test.event", details={"i": i})
    assert verify_chain() is None
    return list(AuditEvent.objects.order_by("seq"))


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def broken() -> str:
    with pytest.raises(CommandError) as failed:
        verify()
    return str(failed.value)


def test_an_intact_log_verifies(chain):
    assert "verifies" in verify() and f"{AuditEvent.objects.count():,} events" in verify()


@pytest.mark.parametrize("field", ["actor_name", "action", "object_id", "details", "created_at", "workspace_id"])
def test_changing_any_field_of_a_row_names_that_event(chain, field):
    from django.utils import timezone

    target = chain[3]
    value = {"details": {"i": 99}, "created_at": timezone.now(), "workspace_id": 12345}.get(field, "mallory")
    AuditEvent.objects.filter(pk=target.pk).update(**{field: value})
    assert f"event #{target.seq} " in broken() and "changed" in broken()


def test_deleting_a_row_in_the_middle_names_the_missing_event(chain):
    chain[2].delete()
    assert f"event #{chain[2].seq} is missing" in broken()


def test_deleting_the_newest_rows_is_seen_through_the_sealed_head(chain):
    AuditEvent.objects.filter(seq__gte=chain[-2].seq).delete()
    assert "newest events were deleted" in broken()


def test_renumbering_the_rest_after_a_delete_breaks_the_links(chain):
    from django.db.models import F

    chain[2].delete()
    AuditEvent.objects.filter(seq__gt=chain[2].seq).update(seq=F("seq") + 1000)  # move them out of the way
    for offset, event in enumerate(AuditEvent.objects.filter(seq__gt=1000).order_by("seq")):
        AuditEvent.objects.filter(pk=event.pk).update(seq=chain[2].seq + offset)
    assert f"event #{chain[2].seq} " in broken()


def test_swapping_two_rows_names_the_first_moved_event(chain):
    a, b = chain[1], chain[4]
    AuditEvent.objects.filter(pk=a.pk).update(seq=0)
    AuditEvent.objects.filter(pk=b.pk).update(seq=a.seq)
    AuditEvent.objects.filter(pk=a.pk).update(seq=b.seq)
    assert f"event #{a.seq} " in broken()


def test_a_row_added_with_a_copied_seal_does_not_verify(chain):
    last = chain[-1]
    AuditEvent.objects.create(seq=last.seq + 1, actor_name="mallory", action="test.event", prev_hash=last.hash, hash="f" * 64, details={})
    assert f"event #{last.seq + 1} " in broken()


def test_a_changed_head_is_seen(chain):
    AuditHead.objects.update(seq=chain[-1].seq + 5)
    assert "head row was changed" in broken()


def test_events_of_an_upload_hold_no_cell_values(upload, workspace):
    upload("alice", workspace, "t.csv", b"name\nSecretName\nOther\n")
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "dataset.upload" in actions and "version.create" in actions
    assert all("SecretName" not in str(e.details) for e in AuditEvent.objects.all())


def test_sign_ins_and_failed_sign_ins_are_events(client, users):
    assert client.post("/login/", {"username": "bob", "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": "bob", "password": "correct-horse-battery"}).status_code == 302
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.details == {"username": "bob"} and "wrong" not in str(failed.details)
    assert AuditEvent.objects.filter(action="auth.login", actor_name="bob").exists()
    assert verify_chain() is None
