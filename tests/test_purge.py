"""Purge is cryptographic erasure: after it no file of the dataset is left under the data folder, no row refers to
it, its data key is gone, another dataset is untouched, and the audit keeps the purge."""

import pytest
from django.apps import apps
from django.db import models

from tests.test_releases import answered_turn, wards
from workbench.analysis.models import Conversation, Turn
from workbench.audit.models import AuditEvent
from workbench.datasets.models import Dataset, Version
from workbench.jobs.models import Job
from workbench.releases.models import ReleaseRequest

pytestmark = pytest.mark.django_db


def files_under(folder) -> set:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_a_purge_leaves_no_file_and_no_row_of_the_dataset(uploaded, api, users, settings, django_capture_on_commit_callbacks):
    kept = uploaded(b"a,b\n1,2\n3,4\n", filename="other.csv")
    before = files_under(settings.DATA_DIR)
    raw = uploaded(wards().to_csv(index=False).encode())
    with django_capture_on_commit_callbacks(execute=True):
        assert api("alice", "post", f"/api/v1/versions/{raw.pk}/scan").status_code == 202
        synthesized = api("alice", "post", f"/api/v1/versions/{raw.pk}/synthesize", data={"seed": 1}, content_type="application/json")
    synthetic = Version.objects.get(pk=Job.objects.get(pk=synthesized.json()["job"]["id"]).result["version"])
    turn = answered_turn(synthetic, users["bob"])
    release = api("bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "r"}, content_type="application/json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api("alice", "post", f"/api/v1/releases/{release}/approve")
    assert ReleaseRequest.objects.get(pk=release).state == "checked"
    dataset = raw.dataset
    ids = {
        Dataset: {dataset.pk},
        Version: set(dataset.versions.values_list("pk", flat=True)),
        Conversation: set(dataset.conversations.values_list("pk", flat=True)),
        Turn: {turn.pk},
        ReleaseRequest: {release},
        Job: set(Job.objects.filter(dataset=dataset).values_list("pk", flat=True)),
    }
    created = files_under(settings.DATA_DIR) - before
    assert len(ids[Version]) == 2 and len(created) >= 5  # table, profile, scan, synthetic table, its model and report

    response = api("alice", "delete", f"/api/v1/datasets/{dataset.pk}")
    assert response.status_code == 200, response.content

    assert files_under(settings.DATA_DIR) & created == set()
    assert not (settings.DATA_DIR / f"datasets/{dataset.pk}").exists()
    referring = []
    for model in apps.get_models():
        if model._meta.app_label == "audit":
            continue  # the audit keeps the purge event (object ids, never values)
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey) and field.related_model in ids:
                count = model.objects.filter(**{f"{field.name}__in": ids[field.related_model]}).count()
                if count:
                    referring.append(f"{model.__name__}.{field.name}: {count}")
        if model in ids and model.objects.filter(pk__in=ids[model]).exists():
            referring.append(f"{model.__name__} rows")
    assert referring == []
    assert Version.objects.filter(pk=kept.pk).exists() and (settings.DATA_DIR / kept.file).exists()
    event = AuditEvent.objects.get(action="dataset.purge", object_id=str(dataset.pk))
    assert event.object_id == str(dataset.pk) and event.details["release_requests"] == 1 and event.details["versions"] == 2
