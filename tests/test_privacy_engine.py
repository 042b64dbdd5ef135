"""The offline Presidio engine (issue 3's first piece): loads without the network and finds what tables hold."""

import pytest

from workbench.privacy import engine


@pytest.fixture(scope="module")
def found():
    def run(text: str) -> dict[str, list[str]]:
        spans: dict[str, list[str]] = {}
        for span in engine.analyze_text(text):
            spans.setdefault(span["type"], []).append(text[span["start"] : span["end"]])
        return spans

    return run


def test_it_loads_the_packaged_model_by_path_without_the_network():
    assert engine.model_path().is_dir()
    assert engine.analyzer() is engine.analyzer()  # built once per process


def test_it_finds_contact_details_and_names(found):
    spans = found("Write to Jane Doe at jane.doe@example.org or call 212-555-0199; she lives in Boston.")
    assert spans["EMAIL_ADDRESS"] == ["jane.doe@example.org"]  # tldextract answered from its bundled snapshot
    assert "Jane Doe" in spans["PERSON"]
    assert "212-555-0199" in spans["PHONE_NUMBER"]
    assert "Boston" in spans["LOCATION"]


def test_nhs_numbers_need_a_valid_check_digit(found):
    assert found("NHS number 943 476 5919")["UK_NHS"] == ["943 476 5919"]
    assert "UK_NHS" not in found("NHS number 943 476 5918")


def test_site_record_numbers_ages_over_89_and_dates_of_birth(found):
    spans = found("Patient MRN 12345678, DOB 1931-02-03, is 93 years old.")
    assert spans["MEDICAL_RECORD_NUMBER"] == ["MRN 12345678"]
    assert spans["AGE_OVER_89"] == ["93"]
    assert "1931-02-03" in spans["DATE_OF_BIRTH"]


def test_many_texts_go_through_spacys_pipe():
    results = engine.analyze_texts(["Seen by Dr Alan Turing."] * 50 + ["nothing here"])
    assert len(results) == 51
    assert any(span["type"] == "PERSON" for span in results[0])
    assert results[-1] == []


@pytest.mark.parametrize(
    "text,kind,value",
    [
        ("She lives at 22 Baker Street, Flat 3.", "ADDRESS", "22 Baker Street, Flat 3"),
        ("Post to Flat 27, 830 Sanchez Wall Suite 341 please", "ADDRESS", "Flat 27, 830 Sanchez Wall Suite 341"),
        ("Nuovo indirizzo: Via Roma, 12", "ADDRESS", "Via Roma, 12"),
        ("wohnt in der Goethestraße 14a", "ADDRESS", "Goethestraße 14a"),
        ("Write to PO Box 4410.", "ADDRESS", "PO Box 4410"),
        ("a 47-year-old man", "AGE", "47-year-old"),
        ("pt aged 61, seen today", "AGE", "aged 61"),
        ("GP: Northfield Medical Centre", "ORGANIZATION", "Northfield Medical Centre"),
        ("Invoice from Roussel S.A.S. attached", "ORGANIZATION", "Roussel S.A.S."),
        ("Seen by Mrs Okonkwo on the ward", "PERSON", "Mrs Okonkwo"),
        ("Tel. +61-7-6053-2293 after six", "PHONE_NUMBER", "+61-7-6053-2293"),
        ("call her on 03.1537.4787", "PHONE_NUMBER", "03.1537.4787"),
        ("admitted 13 Feb 82 with chest pain", "DATE_TIME", "13 Feb 82"),
        ("Montreal office, H2E 2B7, third floor", "POSTCODE", "H2E 2B7"),
        ("patient number K5414649 transferred", "ID", "K5414649"),
        ("Card ending 6912 was charged twice", "CREDIT_CARD", "6912"),
        ("paid with 4743 1756 1800 3920 492 yesterday", "CREDIT_CARD", "4743 1756 1800 3920 492"),
    ],
)
def test_what_notes_hold_is_found(found, text, kind, value):
    assert value in found(text).get(kind, []), found(text)


def test_a_note_in_capitals_is_read_like_any_other_and_its_spans_are_the_original_s(found):
    text = "CALL LOG - DAVID ROMERO RANG ABOUT HIS RESULTS. ASKED US TO POST THEM."
    assert engine.readable(text).startswith("Call Log - David Romero Rang") and len(engine.readable(text)) == len(text)
    spans = found(text)
    assert any("ROMERO" in name for name in spans.get("PERSON", [])) and "US" not in spans.get("LOCATION", [])


def test_clinical_words_relative_dates_and_iso_dates_are_not_personal_data(found):
    spans = found("Hx of COPD, seen today; daughter informed. Sample 2021-03-04 taken.")
    assert "COPD" not in sum(spans.values(), []) and "today" not in spans.get("DATE_TIME", [])
    assert "2021-03-04" not in spans.get("PHONE_NUMBER", [])
