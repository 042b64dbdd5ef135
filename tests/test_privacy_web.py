"""The privacy stage through the API and the pages: scan a RAW version, anonymise it into an ANONYMIZED
version with its risk report, which analysts may then read; RAW values never appear in the result."""

import re

import pytest

from workbench.datasets.models import Version

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw(uploaded):
    from workbench.console.demo import demo_table

    return uploaded(demo_table().to_csv(index=False).encode(), filename="demo.csv")


def run(django_capture_on_commit_callbacks, call):
    with django_capture_on_commit_callbacks(execute=True):
        response = call()
    assert response.status_code == 202, response.content
    from workbench.jobs.models import Job

    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == "succeeded", job.error
    return job


def test_scan_then_anonymise_through_the_api(api, raw, django_capture_on_commit_callbacks):
    run(django_capture_on_commit_callbacks, lambda: api("alice", "post", f"/api/v1/versions/{raw.pk}/scan"))
    body = api("alice", "get", f"/api/v1/versions/{raw.pk}/scan").json()
    assert {"mrn", "patient_name", "phone", "email"} <= set(body["scan"]["direct_identifiers"])
    assert body["proposed_policy"]["columns"]["patient_name"]["operator"] == "pseudonym"
    job = run(
        django_capture_on_commit_callbacks,
        lambda: api("alice", "post", f"/api/v1/versions/{raw.pk}/anonymize", data={"rules": "auto"}, content_type="application/json"),
    )
    anonymised = Version.objects.get(pk=job.result["version"])
    assert anonymised.tier == "ANONYMIZED" and anonymised.parent_id == raw.pk and anonymised.profiled_at
    assert anonymised.made_by["risk_after"]["min_k"] >= 5 > anonymised.made_by["risk_before"]["min_k"]
    # analysts read the ANONYMIZED tier (the default policy) and find no original identifier in it
    download = api("bob", "get", f"/api/v1/versions/{anonymised.pk}/download?format=csv")
    text = b"".join(download.streaming_content).decode()
    from workbench.console.demo import demo_table

    original = demo_table()
    for column in ["patient_name", "phone", "email", "mrn", "date_of_birth"]:
        assert not [v for v in original[column].astype(str) if re.search(rf"(?<![\w.]){re.escape(v)}(?![\w])", text)], column


def test_analysts_cannot_scan_or_anonymise_raw(api, raw):
    assert api("bob", "post", f"/api/v1/versions/{raw.pk}/scan").status_code == 403
    assert (
        api("bob", "post", f"/api/v1/versions/{raw.pk}/anonymize", data={"rules": "auto"}, content_type="application/json").status_code
        == 403
    )
    assert api("charlie", "get", f"/api/v1/versions/{raw.pk}/scan").status_code == 404


def test_a_policy_naming_a_missing_column_is_refused_at_once(api, raw):
    response = api(
        "alice",
        "post",
        f"/api/v1/versions/{raw.pk}/anonymize",
        data={"rules": {"columns": {"salary": {"operator": "drop"}}}},
        content_type="application/json",
    )
    assert response.status_code == 400 and "Column 'salary' is not in the table" in response.json()["error"]
    assert not Version.objects.filter(tier="ANONYMIZED").exists()


def test_saved_policies_are_reused_by_column_name(api, raw, django_capture_on_commit_callbacks):
    rules = {"columns": {"patient_name": {"operator": "drop"}, "not_here": {"operator": "drop"}}, "k": 1}
    saved = api(
        "alice",
        "post",
        f"/api/v1/workspaces/{raw.dataset.workspace_id}/policies",
        data={"name": "drop names", "rules": rules},
        content_type="application/json",
    )
    assert saved.status_code == 201
    job = run(
        django_capture_on_commit_callbacks,
        lambda: api(
            "alice", "post", f"/api/v1/versions/{raw.pk}/anonymize", data={"policy": saved.json()["id"]}, content_type="application/json"
        ),
    )
    version = Version.objects.get(pk=job.result["version"])
    assert "patient_name" not in [c["name"] for c in version.schema] and version.made_by["policy_name"] == "drop names"


def editor_form(page: str) -> dict:
    """The fields of the policy editor as a browser would send them."""
    form = re.search(r'<form id="policy-editor".*?</form>', page, re.S).group(0)
    fields = {}
    for select in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)', select.group(2))
        fields[select.group(1)] = (chosen.group(1) if chosen.group(1) is not None else chosen.group(2)) if chosen else ""
    for field in re.finditer(r"<input ([^>]*)>", form):
        attributes = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', field.group(1)))
        if "name" not in attributes or attributes["name"] == "csrfmiddlewaretoken":
            continue
        if attributes.get("type") == "checkbox":
            if " checked" in field.group(1):
                fields[attributes["name"]] = attributes.get("value", "on")
        else:
            fields[attributes["name"]] = attributes.get("value", "")
    return fields


def column_index(raw, name: str) -> int:
    return [c["name"] for c in raw.schema].index(name)


def test_the_policy_editor_shows_a_row_per_column_and_previews_live(client, users, raw, django_capture_on_commit_callbacks):
    client.force_login(users["alice"])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/v/{raw.pk}/scan").status_code == 302
    page = client.get(f"/v/{raw.pk}/").content.decode()
    assert "direct identifier" in page and "MEDICAL_RECORD_NUMBER" in page
    fields = editor_form(page)
    name, age = column_index(raw, "patient_name"), column_index(raw, "age")
    assert fields[f"op-{name}"] == "pseudonym" and fields[f"p-{name}-kind"] == "name"
    assert fields[f"op-{age}"] == "generalize" and fields[f"p-{age}-width"] == "10" and fields[f"qi-{age}"] == "1"
    assert len([key for key in fields if key.startswith("op-")]) == len(raw.schema)

    preview = client.post(f"/v/{raw.pk}/policy", fields).content.decode()
    from workbench.console.demo import demo_table

    first = demo_table().head(10)
    assert "<table" in preview and "clinical_notes" in preview
    assert not [n for n in first["patient_name"] if n in preview] and not [p for p in first["phone"] if p in preview]

    # a person changes age to a 5-year band: the preview follows, and switching to hash shows its own parameter
    fields[f"p-{age}-width"] = "5"
    fields[f"op-{name}"] = "hash"
    changed = client.post(f"/v/{raw.pk}/policy", fields).content.decode()
    ages = demo_table()["age"].head(10)
    assert all(f"{int(a // 5 * 5)}-{int(a // 5 * 5 + 4)}" in changed for a in ages if a < 90)
    assert f'name="p-{name}-length"' in changed and f'name="p-{name}-kind"' not in changed

    # a bad number is named, and the anonymise button is disabled until it is fixed
    fields[f"p-{age}-width"] = "five"
    bad = client.post(f"/v/{raw.pk}/policy", fields).content.decode()
    assert "Column &#x27;age&#x27;: width must be a number." in bad and "disabled" in bad
    assert client.post(f"/v/{raw.pk}/anonymize", fields).status_code == 302
    from workbench.jobs.models import Job

    assert not Job.objects.filter(kind="anonymize").exists()


def test_a_policy_saved_in_the_editor_is_reused_on_columns_of_the_same_name_and_type(
    client, users, raw, uploaded, django_capture_on_commit_callbacks
):
    client.force_login(users["alice"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/v/{raw.pk}/scan")
    fields = editor_form(client.get(f"/v/{raw.pk}/").content.decode())
    saved = client.post(f"/v/{raw.pk}/policy", dict(fields, save="1", save_as="pbc extract")).content.decode()
    assert "Saved as &#x27;pbc extract&#x27;" in saved
    # another table: `age` is text there (another kind of type), `patient_name` is text as before
    other = uploaded(b"patient_name,age,note\nAnn Lee,adult,x\nBo Chen,child,y\n", filename="other.csv")
    loaded = client.post(f"/v/{other.pk}/policy", {"load": "pbc extract"}).content.decode()
    assert "Loaded the saved policy" in loaded
    fields = editor_form(loaded)
    assert fields["op-0"] == "pseudonym"  # patient_name: same name, same kind of type
    assert fields["op-1"] == "keep" and "qi-1" not in fields  # age: a number rule does not fit text


def test_free_text_in_chunks_gives_the_same_table_as_one_process(api, raw, settings, django_capture_on_commit_callbacks):
    """Every row of the notes is scanned, in chunks; anonymising reuses the scan's spans and gives, cell for
    cell, what the one-process `apply` gives; the chunks' scratch files are gone afterwards."""
    import pandas as pd

    from workbench.datasets.actions import read_table
    from workbench.privacy.actions import proposed_policy, read_scan, read_spans
    from workbench.privacy.policy import apply
    from workbench.storage import data_path

    settings.PRIVACY_TEXT_CHUNK_ROWS = 37  # 418 rows: 12 chunks, the last one short
    scan = run(django_capture_on_commit_callbacks, lambda: api("alice", "post", f"/api/v1/versions/{raw.pk}/scan"))
    assert scan.result["text_chunks"] == 12 and scan.result["free_text_rows_scanned"] == 418
    raw.refresh_from_db()
    notes = next(c for c in read_scan(raw)["columns"] if c["name"] == "clinical_notes")
    assert notes["text"]["rows_scanned"] == 418 and notes["text"]["entities"]["PERSON"] > 100
    spans = read_spans(raw)["clinical_notes"]
    assert len(spans) == 418 and all(0 <= s["start"] < s["end"] for row in spans for s in row)

    rules = proposed_policy(raw)
    job = run(
        django_capture_on_commit_callbacks,
        lambda: api("alice", "post", f"/api/v1/versions/{raw.pk}/anonymize", data={"rules": rules}, content_type="application/json"),
    )
    assert job.result["text_chunks"] == 12
    anonymised = Version.objects.get(pk=job.result["version"])
    assert anonymised.made_by["text_entities"]["clinical_notes"] == notes["text"]  # the scan's spans were used
    frame = read_table(raw).to_pandas()
    expected, _ = apply(rules, frame, secret=bytes(raw.dataset.workspace.secret), types={c["name"]: c["type"] for c in raw.schema})
    got = read_table(anonymised).to_pandas()
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected)
    pd.testing.assert_frame_equal(got.astype(str), expected.reset_index(drop=True).astype(str), check_dtype=False)
    assert not list(data_path("work").glob(f"job-{job.pk}/**/*.enc"))


def test_purging_removes_scan_reports_spans_and_derived_versions(api, raw, settings, django_capture_on_commit_callbacks):
    run(django_capture_on_commit_callbacks, lambda: api("alice", "post", f"/api/v1/versions/{raw.pk}/scan"))
    run(
        django_capture_on_commit_callbacks,
        lambda: api("alice", "post", f"/api/v1/versions/{raw.pk}/anonymize", data={"rules": "auto"}, content_type="application/json"),
    )
    folder = settings.DATA_DIR / f"datasets/{raw.dataset_id}"
    kinds = {path.name.split(".", 1)[1] for path in folder.iterdir()}
    assert {"parquet.enc", "profile.json.enc", "scan.json.enc", "spans.json.enc"} <= kinds
    response = api("alice", "delete", f"/api/v1/datasets/{raw.dataset_id}")
    assert response.status_code == 200
    assert not folder.exists()  # the folder goes with every file in it
