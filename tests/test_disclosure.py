"""Disclosure control, one rule at a time, on the published cases of the tools we follow: ACRO's checks
(AI-SDC/ACRO `sdcchecks.py` with its default risk appetite: threshold 10, N,K 2/0.9, p-ratio 0.1, residual degrees
of freedom 10, zeros disclosive) and OpenSAFELY's redaction of small counts and rounding. Then what hostile code
might try: values the rows do not give, row-level data, names as group labels."""

import json

import numpy as np
import pandas as pd
import pytest

from workbench.releases.disclosure import (
    RELEASED,
    SUPPRESSED,
    WITHHELD,
    Rules,
    check_result,
    describe,
    dominance,
    released_view,
    rounded,
    validate_rules,
)


def groups(**sizes) -> pd.DataFrame:
    rows = [{"group": name, "x": float(i % 7 + 1)} for name, n in sizes.items() for i in range(n)]
    return pd.DataFrame(rows)


def cells(checked) -> dict:
    k = checked["index_columns"]
    return {tuple(row[:k]): row[k:] for row in checked["rows"]}


# --- ACRO: MinimumThresholdCheck (count < safe_threshold is disclosive) ----------------------------------------------


def test_threshold_a_count_of_9_is_suppressed_and_10_released():
    frame = groups(a=9, b=10, c=25)
    checked = check_result(describe(frame["group"].value_counts().sort_index()), frame, Rules(rounding_base=1))
    found = cells(checked)
    assert found[("(small group)",)][0]["status"] == SUPPRESSED and "below the threshold of 10" in found[("(small group)",)][0]["reason"]
    assert found[("b",)][0]["status"] == SUPPRESSED  # secondary: the smallest count beside the suppressed one
    assert found[("c",)][0] == {"value": 25, "status": RELEASED, "reason": "", "statistic": "count", "n": 25}


# --- ACRO: PresenceOfZeroCheck (zeros_are_disclosive) --------------------------------------------------------------


def test_zeros_are_disclosive_by_default_and_not_when_the_policy_says_so():
    frame = pd.DataFrame({"sex": ["F"] * 20 + ["M"] * 20, "smoker": ["yes"] * 20 + ["no"] * 20})
    table = describe(pd.crosstab(frame["sex"], frame["smoker"]))
    zero = cells(check_result(table, frame, Rules()))[("F",)][0]
    assert zero["status"] == SUPPRESSED and "zero" in zero["reason"]
    kept = cells(check_result(table, frame, Rules(zeros_disclosive=False, rounding_base=1)))[("F",)][0]
    assert kept["status"] == RELEASED and kept["value"] == 0


# --- ACRO: NKCheck (N=2, K=0.9) and PPercentCheck (p = 0.1) ---------------------------------------------------------


def test_nk_dominance_two_contributions_of_90_percent_suppress_a_sum():
    income = pd.Series([50.0, 45.0] + [1.0] * 8)  # top two 95 of 103: 92 % >= 90 %
    assert "N,K rule" in dominance(income, Rules())
    assert dominance(pd.Series([12.0, 11.0] + [10.0] * 8), Rules()) == ""
    frame = pd.DataFrame({"region": ["north"] * 10, "income": income})
    cell = cells(check_result(describe(frame.groupby("region")["income"].sum()), frame, Rules()))[("north",)][0]
    assert cell["status"] == SUPPRESSED and cell["statistic"] == "sum of income" and "N,K" in cell["reason"]


def test_p_ratio_the_rest_under_10_percent_of_the_largest_suppresses():
    rules = Rules(nk_k=0.95)  # so that N,K passes and only the p-ratio decides
    contributions = pd.Series([100.0, 10.0] + [1.0] * 8)  # top two 110 of 118 (93 %); rest 8 < 10 % of 100
    assert "p-ratio" in dominance(contributions, rules)
    assert dominance(pd.Series([100.0, 10.0] + [1.5] * 8), rules) == ""  # rest 12 >= 10


def test_dominance_is_not_checked_with_negative_contributions_and_the_cell_is_held_back():
    # ACRO returns 'review' ("Dominance not defined when negative value are present"); nobody reviews here, so withhold
    frame = pd.DataFrame({"g": ["a"] * 12, "v": [-5.0] + [3.0] * 11})
    cell = cells(check_result(describe(frame.groupby("g")["v"].sum()), frame, Rules()))[("a",)][0]
    assert cell["status"] == SUPPRESSED and "negative" in cell["reason"]


# --- ACRO: AllSameValuesCheck (class disclosure) ------------------------------------------------------------------


def test_a_mean_of_a_group_whose_members_all_have_the_same_value_is_suppressed():
    frame = pd.DataFrame({"ward": ["a"] * 12 + ["b"] * 12, "score": [4.0] * 12 + list(np.arange(12.0))})
    found = cells(check_result(describe(frame.groupby("ward")["score"].mean()), frame, Rules()))
    assert found[("a",)][0]["status"] == SUPPRESSED and "same value" in found[("a",)][0]["reason"]
    assert found[("b",)][0]["status"] == RELEASED and found[("b",)][0]["value"] == 5.5


# --- ACRO: MinimumDoFCheck (residual degrees of freedom >= 10) ------------------------------------------------------


def _ols_result(frame, target, predictors):
    x = np.column_stack([np.ones(len(frame)), frame[predictors].to_numpy()])
    estimates = np.linalg.lstsq(x, frame[target].to_numpy(), rcond=None)[0]
    names = ["const", *predictors]
    return {
        "kind": "table",
        "columns": ["index", "coef", "pvalue"],
        "rows": [[n, float(b), 0.5] for n, b in zip(names, estimates)],
        "total_rows": len(names),
        "index_columns": 1,
        "columns_name": None,
    }


@pytest.mark.parametrize(("rows", "released"), [(12, False), (13, True)])  # 2 predictors + constant: dof 9 fails, 10 passes
def test_a_regression_needs_10_residual_degrees_of_freedom(rows, released):
    rng = np.random.default_rng(rows)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    frame["y"] = 2 * frame["a"] - frame["b"] + rng.normal(size=rows)
    checked = check_result(_ols_result(frame, "y", ["a", "b"]), frame, Rules())
    assert checked["kind"] == "regression" and checked["dof"] == rows - 3
    statuses = {row[1]["status"] for row in checked["rows"]}
    assert statuses == ({RELEASED} if released else {SUPPRESSED})
    if released:
        assert checked["columns"] == ["index", "coefficient"]  # the p-values column is not released


# --- OpenSAFELY: small counts redacted, counts rounded, and the cell a total gives back ----------------------------


def test_counts_are_rounded_to_the_policy_base():
    assert [rounded(n, 5) for n in (127, 128, 130, 132, 133)] == [125, 130, 130, 130, 135]
    frame = groups(a=128, b=47)
    found = cells(check_result(describe(frame["group"].value_counts()), frame, Rules()))
    assert found[("a",)][0]["value"] == 130 and found[("b",)][0]["value"] == 45


def test_opensafely_redacts_counts_of_7_or_fewer_with_a_threshold_of_8():
    frame = groups(a=7, b=8, c=30, d=31)
    found = cells(check_result(describe(frame["group"].value_counts()), frame, Rules(threshold=8, rounding_base=1)))
    assert found[("(small group)",)][0]["status"] == SUPPRESSED
    assert found[("b",)][0]["status"] == SUPPRESSED and found[("b",)][0]["reason"].startswith("secondary")
    assert found[("c",)][0]["value"] == 30 and found[("d",)][0]["value"] == 31


def test_secondary_suppression_covers_rows_and_columns_of_a_crosstab():
    frame = pd.DataFrame(
        {"ward": ["a"] * 133 + ["b"] * 70, "sex": ["F"] * 128 + ["M"] * 3 + ["X"] * 2 + ["F"] * 35 + ["M"] * 20 + ["X"] * 15}
    )
    checked = check_result(describe(pd.crosstab(frame["ward"], frame["sex"])), frame, Rules())
    by_ward = {row[0]: {c: cell for c, cell in zip(checked["columns"][1:], row[1:])} for row in checked["rows"]}
    assert by_ward["a"]["M"]["status"] == SUPPRESSED and by_ward["a"]["X"]["status"] == SUPPRESSED  # 3 and 2: both primary
    assert by_ward["a"]["F"]["value"] == 130  # two cells hidden in that row: the total does not give either back
    # columns M and X now have one primary each: the other cell in each is suppressed too
    assert by_ward["b"]["M"]["status"] == SUPPRESSED and by_ward["b"]["X"]["status"] == SUPPRESSED
    assert by_ward["b"]["F"]["value"] == 35


def test_statistics_of_groups_below_the_threshold_are_suppressed_and_min_max_withheld():
    frame = pd.DataFrame({"ward": ["a"] * 4 + ["b"] * 30, "age": list(range(60, 64)) + list(range(20, 50))})
    found = cells(check_result(describe(frame.groupby("ward")["age"].mean()), frame, Rules()))
    assert found[("(small group)",)][0]["status"] == SUPPRESSED and "over 4 people" in found[("(small group)",)][0]["reason"]
    assert found[("b",)][0]["value"] == 34.5
    extremes = cells(check_result(describe(frame.groupby("ward")["age"].max()), frame, Rules()))
    assert extremes[("b",)][0]["status"] == WITHHELD and "one person's value" in extremes[("b",)][0]["reason"]


# --- hostile code ---------------------------------------------------------------------------------------------------


def test_a_value_the_named_rows_do_not_give_is_withheld_whatever_the_code_claims():
    frame = groups(a=50, b=50)
    forged = {
        "kind": "table",
        "columns": ["group", "count"],
        "rows": [["a", 1], ["b", 50]],
        "total_rows": 2,
        "index_columns": 1,
        "columns_name": None,
    }
    found = cells(check_result(forged, frame, Rules()))
    assert found[("a",)][0]["status"] == WITHHELD and "could not be reproduced" in found[("a",)][0]["reason"]
    assert found[("b",)][0]["value"] == 50


def test_row_level_data_printed_text_and_cut_tables_are_never_released():
    frame = groups(a=50)
    assert check_result(describe(frame.head()), frame, Rules())["summary"]["cells"][RELEASED] == 0
    assert "row-level" in check_result(describe(frame.head()), frame, Rules())["reason"]
    assert check_result({"kind": "text", "value": "Ann Smith"}, frame, Rules())["kind"] == "none"
    cut = {**describe(frame["group"].value_counts()), "total_rows": 500}
    assert "cut" in check_result(cut, frame, Rules())["reason"]


def test_a_group_by_on_names_releases_no_name():
    frame = pd.DataFrame({"name": [f"Patient {i}" for i in range(30)] + ["Common"] * 20, "age": range(50)})
    checked = check_result(describe(frame.groupby("name")["age"].mean()), frame, Rules())
    shown = json.dumps(released_view(checked))
    assert "Patient" not in shown and "Common" in shown


def test_labels_and_text_cells_cannot_smuggle_values():
    frame = groups(a=40, b=40)
    smuggled = {
        "kind": "table",
        "columns": ["group", "note"],
        "rows": [["a", "Ann Smith, 1961-02-03"], ["b", "x"]],
        "total_rows": 2,
        "index_columns": 1,
        "columns_name": None,
    }
    view = released_view(check_result(smuggled, frame, Rules()))
    assert "Ann" not in json.dumps(view)


def test_a_single_number_is_checked_like_a_cell():
    frame = pd.DataFrame({"group": ["a"] * 12 + ["b"] * 3, "x": [1000.0 + 0.37 * i for i in range(15)]})
    assert check_result({"kind": "value", "value": 15}, frame, Rules())["rows"][0][0]["value"] == 15
    three = check_result({"kind": "value", "value": 3}, frame, Rules())["rows"][0][0]  # a count of a subset: not reproducible
    assert three["status"] == WITHHELD
    mean = check_result({"kind": "value", "value": 1002.59}, frame, Rules())["rows"][0][0]
    assert mean["status"] == RELEASED and mean["statistic"] == "mean of x" and mean["value"] == 1002.59


def test_bands_made_with_pd_cut_are_groups():
    frame = pd.DataFrame({"age": list(range(20, 80)), "bili": np.linspace(0.5, 3.0, 60)})
    checked = check_result(describe(frame.groupby(pd.cut(frame["age"], [0, 40, 60, 100]), observed=True)["bili"].median()), frame, Rules())
    assert checked["summary"]["cells"][RELEASED] == 3


def test_the_policy_rules_are_validated_in_words():
    assert validate_rules({}) == []
    problems = validate_rules({"threshold": 0, "nk_k": 2, "p_ratio": "x", "surprise": 1})
    assert any("threshold" in p for p in problems) and any("nk_k" in p for p in problems) and any("Unknown" in p for p in problems)
    assert Rules.from_policy({"disclosure": {"threshold": 8, "rounding_base": 3}}) == Rules(threshold=8, rounding_base=3)


def test_a_table_built_to_make_the_check_slow_is_withheld_past_the_time_limit():
    frame = pd.DataFrame({"g": ["a"] * 50 + ["b"] * 50, **{f"v{i}": np.arange(100.0) * (i + 1) for i in range(30)}})
    forged = {
        "kind": "table",
        "columns": ["g", *[f"c{i}" for i in range(40)]],
        "rows": [["a", *[1.2345] * 40], ["b", *[2.5] * 40]],
        "total_rows": 2,
        "index_columns": 1,
        "columns_name": None,
    }
    checked = check_result(forged, frame, Rules(), seconds=0.0)
    assert checked["summary"]["cells"][WITHHELD] == 80 and any("ran past" in r for r in checked["summary"]["reasons"])


def test_band_edges_taken_from_the_data_are_withheld_and_chosen_edges_are_not():
    frame = pd.DataFrame({"age": list(range(20, 90)), "bili": np.linspace(0.5, 3.0, 70)})
    automatic = check_result(describe(frame.groupby(pd.cut(frame["age"], 5), observed=True)["bili"].mean()), frame, Rules())
    assert automatic["kind"] == "none" and "give the edges yourself" in automatic["reason"]
    chosen = check_result(describe(frame.groupby(pd.cut(frame["age"], [0, 40, 60, 100]), observed=True)["bili"].mean()), frame, Rules())
    assert chosen["summary"]["cells"][RELEASED] == 3


def test_a_header_the_code_wrote_shows_only_column_names_and_statistic_words():
    frame = pd.DataFrame({"ward": ["a"] * 20 + ["b"] * 20, "age": np.arange(40.0)})
    table = frame.groupby("ward").agg(**{"Ann_Smith_1961": ("age", "mean"), "mean_age": ("age", "mean")})
    view = released_view(check_result(describe(table), frame, Rules()))
    assert view["columns"] == ["ward", "mean of age", "mean_age"] and "Ann" not in json.dumps(view)


def test_a_regression_on_an_indicator_for_one_person_is_suppressed_whatever_its_degrees_of_freedom():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=60), "flag": [1.0] + [0.0] * 59})
    frame["y"] = frame["a"] + rng.normal(size=60)
    checked = check_result(_ols_result(frame, "y", ["a", "flag"]), frame, Rules())
    assert checked["kind"] == "regression" and checked["dof"] == 57
    assert {row[1]["status"] for row in checked["rows"]} == {SUPPRESSED} and "for 1 person only" in checked["rows"][0][1]["reason"]
