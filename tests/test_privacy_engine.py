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
