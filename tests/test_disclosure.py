"""Disclosure control of a declared query, one rule at a time, on the published cases of the tools we follow: ACRO's
checks (AI-SDC/ACRO `sdcchecks.py` with its default risk appetite: threshold 10, N,K 2/0.9, p-ratio 0.1, residual
degrees of freedom 10, zeros disclosive) and OpenSAFELY's redaction of small counts and rounding; then the rules the
checker adds (dominance of every magnitude, the single-contributor share, sums that do not give their group's size,
regressions' leverage and few-valued predictors) and what the analyst sees of the result."""

import json

import numpy as np
import pandas as pd
import pytest

from workbench.releases.checker import check, check_table_dp, dp_problems, exact
from workbench.releases.disclosure import RELEASED, SUPPRESSED, WITHHELD, Rules, chart_of, dominance, released_view, rounded, validate_rules
from workbench.releases.query import column_kinds, parse


def run(frame: pd.DataFrame, document: dict, rules: Rules | None = None, prior=()) -> dict:
    return check(parse(document, column_kinds(frame)), frame, rules or Rules(), list(prior))


def cells(checked: dict) -> dict:
    k = checked["index_columns"]
    return {tuple(row[:k]): row[k:] for row in checked["rows"]}


def groups(**sizes) -> pd.DataFrame:
    return pd.DataFrame([{"group": name, "x": float(i % 7 + 1)} for name, n in sizes.items() for i in range(n)])


def by_group(*values, measures=({"statistic": "count"},), column="group"):
    return {"kind": "table", "groups": [{"column": column, "values": list(values)}], "measures": list(measures)}


# --- ACRO: MinimumThresholdCheck (count < safe_threshold is disclosive) ----------------------------------------------


def test_threshold_a_count_of_9_is_suppressed_and_10_released():
    found = cells(run(groups(a=9, b=10, c=25), by_group("a", "b", "c"), Rules(rounding_base=1)))
    assert found[("a",)][0]["status"] == SUPPRESSED and "below the threshold of 10" in found[("a",)][0]["reason"]
    assert found[("b",)][0]["value"] == 10 and found[("c",)][0]["value"] == 25  # no total released: nothing gives a back


# --- ACRO: PresenceOfZeroCheck (zeros_are_disclosive) --------------------------------------------------------------


def test_zeros_are_disclosive_by_default_and_not_when_the_policy_says_so():
    frame = pd.DataFrame({"sex": ["F"] * 20 + ["M"] * 20, "smoker": ["yes"] * 20 + ["no"] * 20})
    document = {
        "groups": [{"column": "sex", "values": ["F"]}, {"column": "smoker", "values": ["no", "yes"]}],
        "measures": [{"statistic": "count"}],
    }
    zero = cells(run(frame, document))[("F", "no")][0]
    assert zero["status"] == SUPPRESSED and "zero" in zero["reason"]
    kept = cells(run(frame, document, Rules(zeros_disclosive=False, rounding_base=1)))[("F", "no")][0]
    assert kept["status"] == RELEASED and kept["value"] == 0


# --- ACRO: NKCheck (N=2, K=0.9), PPercentCheck (p = 0.1), and one contributor's share -------------------------------


def test_nk_dominance_two_contributions_of_90_percent_suppress_a_sum():
    income = np.array([50.0, 45.0] + [1.0] * 8)  # top two 95 of 103: 92 % >= 90 %
    assert "N,K rule" in dominance(income, Rules())
    assert dominance(np.array([12.0, 11.0] + [10.0] * 8), Rules()) == ""
    frame = pd.DataFrame({"region": ["north"] * 10, "income": income})
    cell = cells(run(frame, by_group("north", column="region", measures=[{"statistic": "sum", "column": "income"}])))[("north",)][0]
    assert cell["status"] == SUPPRESSED and cell["statistic"] == "sum of income" and "N,K" in cell["reason"]


def test_p_ratio_the_rest_under_10_percent_of_the_largest_suppresses():
    rules = Rules(nk_k=0.95, max_share=1.0)  # so that N,K passes and only the p-ratio decides
    assert "p-ratio" in dominance(np.array([100.0, 10.0] + [1.0] * 8), rules)  # top two 93 %; rest 8 < 10 % of 100
    assert dominance(np.array([100.0, 10.0] + [1.5] * 8), rules) == ""  # rest 12 >= 10


def test_one_contribution_over_half_the_total_suppresses_where_acro_lets_it_pass():
    values = np.array([251_340.55, 12_219.73, 9_820.64] + [5_000.0] * 16)  # one person 74 % of a group of 19
    assert dominance(values, Rules(max_share=1.0)) == ""  # ACRO's N,K and p-ratio both pass it
    assert "single-contributor" in dominance(values, Rules())


def test_dominance_is_checked_on_absolute_values_and_on_every_magnitude_statistic():
    frame = pd.DataFrame({"g": ["a"] * 12, "v": [-9000.0] + [3.0] * 11})
    for statistic in ("sum", "mean", "median", "std", "var"):
        cell = cells(run(frame, by_group("a", column="g", measures=[{"statistic": statistic, "column": "v"}])))[("a",)][0]
        assert cell["status"] == SUPPRESSED and "contribution" in cell["reason"], statistic


def test_a_spread_is_checked_on_its_squared_deviations_too():
    rng = np.random.default_rng(4)
    values = np.concatenate([rng.normal(100, 5, 40), [160.0]])  # no value dominates the sum; the outlier dominates the variance
    assert dominance(values, Rules()) == ""
    frame = pd.DataFrame({"g": ["a"] * 41, "v": values})
    cell = cells(run(frame, by_group("a", column="g", measures=[{"statistic": "var", "column": "v"}])))[("a",)][0]
    assert cell["status"] == SUPPRESSED and "squared deviations" in cell["reason"]


# --- ACRO: AllSameValuesCheck (class disclosure); a distinct count of one ------------------------------------------


def test_a_mean_of_a_group_whose_members_all_have_the_same_value_is_suppressed():
    frame = pd.DataFrame({"ward": ["a"] * 12 + ["b"] * 12, "score": [4.0] * 12 + list(np.arange(12.0))})
    found = cells(run(frame, by_group("a", "b", column="ward", measures=[{"statistic": "mean", "column": "score"}])))
    assert found[("a",)][0]["status"] == SUPPRESSED and "same value" in found[("a",)][0]["reason"]
    assert found[("b",)][0]["status"] == RELEASED and found[("b",)][0]["value"] == 5.5


def test_a_distinct_count_of_one_is_class_disclosure():
    frame = pd.DataFrame({"ward": ["a"] * 12 + ["b"] * 12, "dx": ["flu"] * 12 + ["flu", "cold"] * 6})
    found = cells(run(frame, by_group("a", "b", column="ward", measures=[{"statistic": "distinct", "column": "dx"}])))
    assert found[("a",)][0]["status"] == SUPPRESSED and "same value" in found[("a",)][0]["reason"]
    assert found[("b",)][0]["value"] == 2


# --- regressions: ACRO's MinimumDoFCheck, and what passes through one person ----------------------------------------


@pytest.mark.parametrize(("rows", "released"), [(12, False), (13, True)])  # 2 predictors + intercept: dof 9 fails, 10 passes
def test_a_regression_needs_10_residual_degrees_of_freedom(rows, released):
    # evenly spread predictors and a target far from zero: no one person dominates a coefficient, so only the
    # degrees of freedom decide
    rng = np.random.default_rng(rows)
    spread = np.linspace(-3, 3, rows)
    frame = pd.DataFrame({"a": rng.permutation(spread), "b": rng.permutation(spread)})
    frame["y"] = 50 + 2 * frame["a"] - frame["b"] + rng.normal(scale=0.5, size=rows)
    checked = run(frame, {"kind": "regression", "target": "y", "predictors": ["a", "b"]}, Rules(max_leverage=0.99))
    statuses = {row[1]["status"] for row in checked["rows"][:-1]}
    assert statuses == ({RELEASED} if released else {SUPPRESSED})
    if not released:
        assert all("degrees of freedom" in row[1]["reason"] for row in checked["rows"][:-1])
    if released:
        fitted = np.linalg.lstsq(np.column_stack([np.ones(rows), frame[["a", "b"]]]), frame["y"], rcond=None)[0]
        assert [row[1]["value"] for row in checked["rows"][:3]] == [float(f"{b:.4g}") for b in fitted]


def test_a_regression_on_an_indicator_for_one_person_is_refused_whatever_its_degrees_of_freedom():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=60), "flag": [1.0] + [0.0] * 59})
    frame["y"] = frame["a"] + rng.normal(size=60)
    checked = run(frame, {"kind": "regression", "target": "y", "predictors": ["a", "flag"]})
    reasons = {row[1]["reason"] for row in checked["rows"][:-1]}
    assert {row[1]["status"] for row in checked["rows"][:-1]} == {SUPPRESSED}
    assert any("'flag' is held by 1" in r and "leverage" in r for r in reasons)


def test_a_regression_whose_fit_passes_through_one_observation_is_refused():
    x = np.concatenate([np.full(30, 96.0), [104.0]])  # two values of x: the fit passes through the lone one
    frame = pd.DataFrame({"x": x + np.arange(31) * 1e-3, "y": np.random.default_rng(1).normal(size=31)})
    reasons = run(frame, {"kind": "regression", "target": "y", "predictors": ["x"]})["rows"][0][1]["reason"]
    assert "leverage" in reasons


# --- OpenSAFELY: small counts redacted, counts rounded; sums that do not give their group's size -------------------


def test_counts_are_rounded_to_the_policy_base():
    assert [rounded(n, 5) for n in (127, 128, 130, 132, 133)] == [125, 130, 130, 130, 135]
    found = cells(run(groups(a=128, b=47), by_group("a", "b")))
    assert found[("a",)][0]["value"] == 130 and found[("b",)][0]["value"] == 45
    assert found[("a",)][0]["exact"] == 128  # for owners only


def test_a_sum_divided_by_its_mean_gives_the_rounded_count_not_the_group_size():
    frame = pd.DataFrame({"g": ["a"] * 263, "cost": np.random.default_rng(2).lognormal(8, 0.5, 263)})
    found = cells(
        run(frame, by_group("a", column="g", measures=[{"statistic": "sum", "column": "cost"}, {"statistic": "mean", "column": "cost"}]))
    )[("a",)]
    assert round(found[0]["value"] / found[1]["value"]) == 265 != 263
    assert abs(found[0]["exact"] - frame["cost"].sum()) < 1e-6


def test_statistics_of_groups_below_the_threshold_are_suppressed_and_min_max_withheld():
    frame = pd.DataFrame({"ward": ["a"] * 4 + ["b"] * 30, "age": list(range(60, 64)) + list(range(20, 50))})
    found = cells(
        run(
            frame,
            by_group("a", "b", column="ward", measures=[{"statistic": "mean", "column": "age"}, {"statistic": "max", "column": "age"}]),
        )
    )
    assert found[("a",)][0]["status"] == SUPPRESSED and "over 4 people" in found[("a",)][0]["reason"]
    assert found[("b",)][0]["value"] == 34.5
    assert found[("b",)][1]["status"] == WITHHELD and "one person's value" in found[("b",)][1]["reason"]


# --- tables: margins, secondary suppression, the checker's own labels ---------------------------------------------


def test_margins_do_not_give_back_a_suppressed_cell():
    frame = pd.DataFrame({"ward": ["a"] * 133 + ["b"] * 70, "sex": ["F"] * 128 + ["M"] * 5 + ["F"] * 35 + ["M"] * 35})
    document = {
        "groups": [{"column": "ward", "values": ["a", "b"]}, {"column": "sex", "values": ["F", "M"]}],
        "measures": [{"statistic": "count"}],
        "margins": True,
    }
    found = cells(run(frame, document, Rules(rounding_base=1)))
    assert found[("a", "M")][0]["status"] == SUPPRESSED  # 5: primary
    shown = {key for key, row in found.items() if row[0]["status"] == RELEASED}
    lines = [[(w, s) for s in ("F", "M", "(all)")] for w in ("a", "b", "(all)")] + [
        [(w, s) for w in ("a", "b", "(all)")] for s in ("F", "M", "(all)")
    ]
    for line in lines:  # a row or a column with its total: never exactly one of its cells hidden
        assert sum(key not in shown for key in line) != 1, line
    assert len(shown) >= 4  # but not everything goes


def test_every_declared_group_has_a_row_in_declared_order_whatever_the_data_holds():
    frame = groups(b=30, a=40)
    checked = run(frame, by_group("c", "a", "b"))
    assert [row[0] for row in checked["rows"]] == ["c", "a", "b"]
    assert checked["rows"][0][1]["status"] == SUPPRESSED  # nobody in 'c': a zero, marked like a small count


def test_bins_are_cut_points_with_open_outer_bands_labelled_by_the_checker():
    frame = pd.DataFrame({"age": np.arange(18, 98), "x": 1.0})
    checked = run(frame, {"groups": [{"column": "age", "bins": [40, 65]}], "measures": [{"statistic": "count"}]}, Rules(rounding_base=1))
    assert [row[0] for row in checked["rows"]] == ["< 40", "40 to < 65", "≥ 65"]
    assert [row[1]["value"] for row in checked["rows"]] == [22, 25, 33]
    right = run(
        frame,
        {"groups": [{"column": "age", "bins": [40, 65], "closed": "right"}], "measures": [{"statistic": "count"}]},
        Rules(rounding_base=1),
    )
    assert [row[0] for row in right["rows"]] == ["≤ 40", "> 40 to 65", "> 65"]


# --- what the analyst sees ---------------------------------------------------------------------------------------


def test_the_released_view_marks_every_held_cell_alike_and_shows_no_reason_or_count():
    frame = groups(a=3, b=40, c=0)
    view = released_view(run(frame, by_group("a", "b", "c", "d", measures=[{"statistic": "count"}, {"statistic": "mean", "column": "x"}])))
    assert view["columns"] == ["group", "count", "mean of x"]
    marks = {mark for row in view["marks"] for mark in row if mark}
    assert marks == {"not released"}
    text = json.dumps(view)
    for hidden in ("below", "threshold", "zero", "suppressed", "withheld", '"n"', "exact"):
        assert hidden not in text


def test_the_chart_is_built_from_the_released_cells_and_the_checkers_words_only():
    frame = groups(a=3, b=40, c=30)
    view = released_view(run(frame, by_group("a", "b", "c")))
    chart = chart_of(view)
    assert chart["data"][0]["x"] == ["a", "b", "c"] and chart["data"][0]["y"] == [None, 40, 30]
    assert chart["data"][0]["name"] == "count"


def test_the_exact_control_releases_everything():
    frame = groups(a=3, b=40)
    assert exact(parse(by_group("a", "b"), column_kinds(frame)), frame)["rows"] == [["a", 3], ["b", 40]]


# --- differential privacy ---------------------------------------------------------------------------------------


def test_dp_answers_counts_sums_and_means_with_noise_and_refuses_the_rest():
    frame = pd.DataFrame({"g": ["a"] * 500 + ["b"] * 500, "cost": np.random.default_rng(5).uniform(0, 100, 1000)})
    kinds = column_kinds(frame)
    query = parse(
        {
            "groups": [{"column": "g", "values": ["a", "b"]}],
            "measures": [{"statistic": "count"}, {"statistic": "mean", "column": "cost"}],
            "bounds": {"cost": [0, 100]},
        },
        kinds,
    )
    assert dp_problems(query) == []
    checked = check_table_dp(query, frame, Rules(), 1.0)
    assert checked["summary"]["cells"][RELEASED] == 4
    counts = [row[1]["value"] for row in checked["rows"]]
    assert all(abs(c - 500) < 60 for c in counts)  # Laplace scale 2: beyond 60 has probability e^-30
    assert checked["noise"]["measures"]["count"]["scale"] == 2.0
    assert dp_problems(parse({"measures": [{"statistic": "median", "column": "cost"}]}, kinds))
    assert "bounds" in " ".join(dp_problems(parse({"measures": [{"statistic": "sum", "column": "cost"}]}, kinds)))


def test_the_policy_rules_are_validated_in_words():
    assert validate_rules({}) == []
    problems = validate_rules({"threshold": 0, "nk_k": 2, "p_ratio": "x", "max_share": 0, "surprise": 1})
    assert any("threshold" in p for p in problems) and any("nk_k" in p for p in problems) and any("Unknown" in p for p in problems)
    assert any("max_share" in p for p in problems)
    assert Rules.from_policy({"disclosure": {"threshold": 8, "rounding_base": 3}}) == Rules(threshold=8, rounding_base=3)
