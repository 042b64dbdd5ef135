"""Reversible pseudonyms (issue 13): the `encrypt` operator (Presidio's encrypt operator under a key of the dataset's
own, derived from its data key) and the owner's reveal — which answers the data owner, no one else, and is audited
without the value."""

import pandas as pd
import pytest

from workbench.audit.models import AuditEvent
from workbench.datasets.models import Version
from workbench.privacy import operators
from workbench.privacy.policy import reversible_key

pytestmark = pytest.mark.django_db

CSV = b"patient,mrn,age\nAda Lovelace,MRN-0001,36\nAlan Turing,MRN-0002,41\nAda Lovelace,MRN-0001,37\n,MRN-0003,50\n"


def test_the_operator_round_trips_under_its_key_and_under_no_other():
    key, other = reversible_key(b"a" * 32), reversible_key(b"b" * 32)
    values = pd.Series(["Ada Lovelace", "Alan Turing", "Ada Lovelace", None])
    tokens = operators.encrypt(values, key=key)
    assert tokens[0] == tokens[2] and tokens[0] != tokens[1] and pd.isna(tokens[3])  # consistent within the table
    assert all(t.startswith("enc:") and "Ada" not in t for t in tokens[:3])
    assert operators.decrypt(tokens[0], key=key) == "Ada Lovelace"
    with pytest.raises(ValueError, match="not a reversible pseudonym of this dataset"):
        operators.decrypt(tokens[0], key=other)
    with pytest.raises(ValueError):
        operators.decrypt(tokens[1][:-4] + "AAAA", key=key)


@pytest.fixture
def encrypted(uploaded, api, django_capture_on_commit_callbacks):
    raw = uploaded(CSV, filename="patients.csv")
    rules = {"columns": {"patient": {"operator": "encrypt"}, "mrn": {"operator": "encrypt"}}, "k": 1}
    with django_capture_on_commit_callbacks(execute=True):
        response = api("alice", "post", f"/api/v1/versions/{raw.pk}/anonymize", data={"rules": rules}, content_type="application/json")
    assert response.status_code == 202, response.content
    from workbench.jobs.models import Job

    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == "succeeded", job.error
    version = Version.objects.get(pk=job.result["version"])
    text = b"".join(api("bob", "get", f"/api/v1/versions/{version.pk}/download?format=csv").streaming_content).decode()
    return raw.dataset, version, text


def test_an_anonymised_copy_holds_tokens_not_names(encrypted):
    _, _, text = encrypted
    assert "Ada" not in text and "MRN-0001" not in text and text.count("enc:") == 7  # 3 names, 4 record numbers


def test_the_data_owner_reveals_a_pseudonym_and_the_reveal_is_audited_without_the_value(encrypted, api):
    dataset, _, text = encrypted
    token = text.splitlines()[1].split(",")[0]
    answer = api("alice", "post", f"/api/v1/datasets/{dataset.pk}/reveal", data={"value": token}, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["original"] == "Ada Lovelace"
    event = AuditEvent.objects.filter(action="pseudonym.reveal").get()
    assert event.actor.username == "alice" and "Ada" not in str(event.details) and token not in str(event.details)


@pytest.mark.parametrize("who,status", [("bob", 403), ("vera", 403), ("charlie", 404)])
def test_no_one_but_the_data_owner_can_reveal(encrypted, api, who, status):
    dataset, _, text = encrypted
    token = text.splitlines()[1].split(",")[0]
    answer = api(who, "post", f"/api/v1/datasets/{dataset.pk}/reveal", data={"value": token}, content_type="application/json")
    assert answer.status_code == status and "Ada" not in answer.content.decode()
    assert not AuditEvent.objects.filter(action="pseudonym.reveal").exists()


def test_a_changed_or_foreign_token_is_a_clear_refusal(encrypted, api):
    dataset, _, text = encrypted
    token = text.splitlines()[1].split(",")[0]
    for bad in (token[:-6] + "AAAAAA", "enc:" + "A" * 44, "", "Ada Lovelace"):
        answer = api("alice", "post", f"/api/v1/datasets/{dataset.pk}/reveal", data={"value": bad}, content_type="application/json")
        assert answer.status_code == 400 and answer.json()["error"], bad
    assert AuditEvent.objects.filter(action="pseudonym.reveal_refused").count() == 3  # the empty value never reached the key
