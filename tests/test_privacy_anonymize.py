"""Policies and `manage.py anonymize`: nothing identifying survives the proposed policy, k is reached,
and a policy that does not fit is refused with every reason, changing nothing."""

import json
import re

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from workbench.privacy import policy as policies
from workbench.privacy.risk import risk_report

SECRET = b"w" * 32


@pytest.fixture(scope="module")
def demo():
    from workbench.console.demo import demo_table

    return demo_table()


@pytest.fixture(scope="module")
def anonymised(demo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("anon")
    source, target = folder / "demo.csv", folder / "anon.csv"
    demo.to_csv(source, index=False)
    secret = folder / "secret"
    secret.write_bytes(SECRET)
    from io import StringIO

    from django.core.management import call_command as run

    out = StringIO()
    run("anonymize", str(source), "--policy", "auto", "--out", str(target), "--secret-file", str(secret), stdout=out)
    return pd.read_csv(target, dtype=str), json.loads(out.getvalue()), target.read_text()


def test_no_original_identifier_survives_anywhere(demo, anonymised):
    table, report, raw = anonymised
    cells = set(table.fillna("").to_numpy().ravel())
    for column in ["patient_name", "phone", "email", "mrn", "date_of_birth"]:
        for value in demo[column].astype(str):
            assert value not in cells, (column, "a cell")
            assert not re.search(rf"(?<![\w.]){re.escape(value)}(?![\w])", raw), (column, "inside a cell")


def test_the_proposed_policy_reaches_k_and_reports_before_and_after(anonymised):
    table, report, _ = anonymised
    assert report["risk_before"]["min_k"] < 5
    assert report["risk_after"]["min_k"] >= 5
    assert report["summary"]["suppressed_rows"] == report["risk_before"]["rows"] - len(table)


def test_the_proposed_policys_risk_counts_the_year_of_birth_and_every_generalised_column(anonymised):
    _, report, _ = anonymised
    counted = set(report["risk_after"]["quasi_identifiers"])
    generalised = {name for name, rule in report["policy"]["columns"].items() if rule["operator"] in ("generalize", "top_bottom_code")}
    assert "date_of_birth" in generalised and "age" in counted  # the date of birth is kept as its year
    assert generalised <= counted and set(report["risk_before"]["quasi_identifiers"]) == counted


def test_the_report_names_the_kept_columns_it_did_not_count_and_the_worst_case(anonymised):
    table, report, _ = anonymised
    not_counted = report["risk_not_counted"]
    assert "bili" in not_counted and "age" not in not_counted and "date_of_birth" not in not_counted
    worst = report["risk_worst_case"]
    assert set(not_counted) <= set(worst["quasi_identifiers"]) and worst["rows"] == len(table)
    assert worst["min_k"] <= report["risk_after"]["min_k"]  # more known columns never make classes larger


def test_pseudonyms_in_notes_match_their_columns(anonymised):
    table, _, _ = anonymised
    row = table.iloc[0]
    assert row["patient_name"] in row["clinical_notes"]


def test_k_anonymity_enforcement_by_rows_and_cells():
    frame = pd.DataFrame({"age": ["30-39"] * 6 + ["40-49"] * 2 + ["50-59"], "sex": ["f"] * 6 + ["m"] * 2 + ["f"], "x": range(9)})
    rows, suppressed = policies.enforce_k(frame, ["age", "sex"], 3, how="rows")
    assert suppressed == 3 and risk_report(rows, quasi_identifiers=["age", "sex"])["min_k"] >= 3
    cells, suppressed = policies.enforce_k(frame, ["age", "sex"], 3, how="cells")
    assert len(cells) == 9 and (cells["age"] == "*").sum() == 3
    assert risk_report(cells, quasi_identifiers=["age", "sex"])["min_k"] >= 3


@pytest.mark.parametrize(
    "rules,message",
    [
        ({"columns": {"nope": {"operator": "drop"}}}, "Column 'nope' is not in the table"),
        ({"columns": {"age": {"operator": "generalize", "width": -5}}}, "needs a positive 'width'"),
        ({"columns": {"age": {"operator": "generalize", "width": "ten"}}}, "parameter 'width' has the wrong type"),
        ({"columns": {"name": {"operator": "top_bottom_code", "top": 90}}}, "needs a numeric column"),
        ({"columns": {"name": {"operator": "date_shift", "subject": "id"}}}, "needs a dates column"),
        ({"columns": {"name": {"operator": "teleport"}}}, "operator must be one of"),
        ({"columns": {"name": {"operator": "pseudonym", "kind": "pet"}}}, "pseudonym kind must be one of"),
        ({"columns": {}, "quasi_identifiers": ["zip"]}, "Quasi-identifier 'zip' is not in the table"),
        ({"columns": {}, "k": 0}, "k must be a whole number"),
    ],
)
def test_a_policy_that_does_not_fit_is_refused_and_changes_nothing(rules, message):
    frame = pd.DataFrame({"name": ["Ann", "Bo"], "age": [30, 41], "id": [1, 2]})
    before = frame.copy()
    with pytest.raises(policies.PolicyError, match=message):
        policies.apply(rules, frame, secret=SECRET)
    pd.testing.assert_frame_equal(frame, before)


def test_the_command_refuses_a_bad_policy_file_and_writes_nothing(tmp_path):
    source, target, rules = tmp_path / "t.csv", tmp_path / "out.csv", tmp_path / "p.json"
    source.write_text("name,age\nAnn,30\nBo,41\n")
    rules.write_text(json.dumps({"columns": {"salary": {"operator": "drop"}}}))
    with pytest.raises(CommandError, match="Column 'salary' is not in the table"):
        call_command("anonymize", str(source), "--policy", str(rules), "--out", str(target))
    assert not target.exists()


def test_the_proposed_policy_fits_a_table_whose_zip_codes_were_read_as_numbers(tmp_path, capsys):
    """ZIP codes without leading zeros are ingested as integers; the proposal's prefix rule must still apply."""
    frame = pd.DataFrame({"zip": [10115 + i % 40 for i in range(200)], "age": [30 + i % 50 for i in range(200)], "sex": ["F", "M"] * 100})
    source, target = tmp_path / "zips.csv", tmp_path / "out.csv"
    frame.to_csv(source, index=False)
    call_command("anonymize", str(source), "--policy", "auto", "--out", str(target))
    report = json.loads(capsys.readouterr().out)
    assert report["policy"]["columns"]["zip"] == {"operator": "generalize", "keep": 3}
    assert set(pd.read_csv(target, dtype=str)["zip"]) == {"101"}
    bins = policies.apply({"columns": {"zip": {"operator": "generalize", "width": 100}}}, frame, secret=SECRET)[0]
    assert set(bins["zip"]) == {"10100-10199"}


def test_overlapping_entities_in_text_are_replaced_as_one_leaving_none_of_their_characters():
    import pandas as pd

    from workbench.privacy.policy import replace_entities

    text = "Letter to Flat 5, 8, boulevard Marcelle Morvan, please."
    address_start = text.index("Flat")
    person_start = text.index("Marcelle")
    spans = [
        [
            {"type": "ADDRESS", "start": address_start, "end": text.index(", please"), "score": 0.6},
            {"type": "PERSON", "start": person_start, "end": person_start + len("Marcelle Morvan"), "score": 0.85},
            {"type": "DATE_TIME", "start": text.index("8,"), "end": text.index("8,") + 1, "score": 0.5},
        ]
    ]
    cleaned = replace_entities(pd.Series([text]), secret=b"s" * 32, style="tag", spans=spans)[0]
    assert cleaned == "Letter to <ADDRESS>, please."  # the longest says what replaces the whole
    surrogate = replace_entities(pd.Series([text]), secret=b"s" * 32, style="surrogate", spans=spans)[0]
    assert not any(word in surrogate for word in ("Flat 5", "boulevard", "Marcelle", "Morvan"))
