"""Events get a sequence number and an HMAC seal, and the chain a sealed head row. The log written before this was
only hash-chained (SHA-256, no key): it is checked as it was, then sealed anew, in one transaction; a log that no
longer verified under the old scheme stops the migration rather than being sealed as if it were whole."""

import hashlib
import json

import django.utils.timezone
from django.db import migrations, models


def _old_digest(event) -> str:
    body = json.dumps(
        [event.prev_hash, event.actor_name, event.action, event.object_type, event.object_id, event.workspace_id, event.details, event.created_at.isoformat()],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def reseal(apps, schema_editor):
    from workbench.audit import actions

    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditHead = apps.get_model("audit", "AuditHead")
    events = list(AuditEvent.objects.order_by("id"))
    if not events:
        return
    previous = "0" * 64
    for event in events:
        if event.prev_hash != previous or _old_digest(event) != event.hash:
            raise RuntimeError(f"The audit log does not verify at row id {event.id}; it is left as it was, not sealed.")
        previous = event.hash
    key = actions._key()
    last = actions.GENESIS
    for seq, event in enumerate(events, start=1):
        event.seq, event.prev_hash = seq, last
        event.hash = actions._digest(key, event)
        event.save(update_fields=["seq", "prev_hash", "hash"])
        last = event.hash
    AuditHead.objects.create(pk=1, seq=len(events), hash=last, seal=actions._head_seal(key, len(events), last))


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="AuditHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(max_length=64)),
                ("seal", models.CharField(max_length=64)),
            ],
        ),
        migrations.AddField(model_name="auditevent", name="seq", field=models.PositiveBigIntegerField(null=True)),
        migrations.RunPython(reseal, migrations.RunPython.noop),
        migrations.AlterField(model_name="auditevent", name="seq", field=models.PositiveBigIntegerField(unique=True)),
        migrations.AlterModelOptions(name="auditevent", options={"ordering": ["seq"]}),
        migrations.AlterField(model_name="auditevent", name="action", field=models.CharField(db_index=True, max_length=64)),
        migrations.AlterField(
            model_name="auditevent", name="created_at", field=models.DateTimeField(db_index=True, default=django.utils.timezone.now)
        ),
    ]
