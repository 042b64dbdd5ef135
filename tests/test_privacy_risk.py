"""Re-identification risk figures on tables whose answers are known."""

import pandas as pd
import pytest

from workbench.privacy.risk import class_sizes, risk_report


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "age_band": ["30-39", "30-39", "30-39", "40-49", "40-49", "50-59"],
            "sex": ["f", "f", "f", "m", "m", "f"],
            "zip3": ["021", "021", "021", "021", "021", None],
            "diagnosis": ["flu", "asthma", "flu", "hiv", "hiv", "flu"],
        }
    )


def test_equivalence_classes_and_k(frame):
    assert class_sizes(frame, ["age_band", "sex", "zip3"]).tolist() == [3, 3, 3, 2, 2, 1]
    report = risk_report(frame, quasi_identifiers=["age_band", "sex", "zip3"], sensitive=["diagnosis"], k=3)
    assert report["equivalence_classes"] == 3
    assert report["min_k"] == 1
    assert report["unique_records"] == 1 and report["unique_share"] == round(1 / 6, 4)
    assert report["records_below_k"] == 3
    assert report["prosecutor_risk_max"] == 1.0
    assert report["prosecutor_risk_mean"] == round((3 * (1 / 3) + 2 * (1 / 2) + 1) / 6, 4)
    assert report["l_diversity"]["diagnosis"] == {"min_l": 1, "classes_with_l_1": 2}  # the 40-49 m class all have hiv
    assert [h["records"] for h in report["class_size_histogram"]] == [1, 2, 3, 0, 0, 0]


def test_missing_values_form_their_own_class(frame):
    frame.loc[4, "zip3"] = None
    assert class_sizes(frame, ["sex", "zip3"]).tolist() == [3, 3, 3, 1, 1, 1]
    frame.loc[3, "zip3"] = None  # two men with no zip code now share a class
    assert class_sizes(frame, ["sex", "zip3"]).tolist() == [3, 3, 3, 2, 2, 1]


def test_no_quasi_identifiers_means_one_class(frame):
    report = risk_report(frame, quasi_identifiers=[], k=5)
    assert report["min_k"] == 6 and report["unique_records"] == 0


def test_unknown_columns_are_a_clear_error(frame):
    with pytest.raises(ValueError, match="not in the table: postcode"):
        risk_report(frame, quasi_identifiers=["postcode"])
    with pytest.raises(ValueError, match="Sensitive attribute not in the table: hiv_status"):
        risk_report(frame, quasi_identifiers=["sex"], sensitive=["hiv_status"])
