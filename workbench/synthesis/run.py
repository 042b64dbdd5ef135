"""One synthesis run on a table, shared by the job and the command line: plan, hold out, fit, sample,
drop exact copies of training rows, evaluate."""

import time

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.synthesis.base import SynthesisError, make_plan
from workbench.synthesis.evaluate import evaluate
from workbench.synthesis.generators import generator_for

HOLDOUT_SHARE = 0.2
MIN_HOLDOUT_ROWS = 10
MAX_RESAMPLES = 20


def synthesize(
    frame: pd.DataFrame,
    schema: list[dict],
    *,
    method: str = "copula",
    rows: int | None = None,
    scan: dict | None = None,
    target: str | None = None,
    seed: int = 0,
    epsilon: float | None = None,
    delta: float | None = None,
    holdout_share: float = HOLDOUT_SHARE,
    max_epochs: float | None = None,
    choices: dict[str, str] | None = None,
    progress=lambda percent, message: None,
) -> tuple[pd.DataFrame, dict, dict]:
    """The synthetic table, the report, and the fitted model (JSON; it holds real quantiles: store it encrypted)."""
    if target is not None and target not in frame.columns:
        raise SynthesisError(f"The target column '{target}' is not in the table.")
    rows = len(frame) if rows is None else rows
    if rows < 1:
        raise SynthesisError("Ask for at least one synthetic row.")
    started = time.perf_counter()
    plan, table = make_plan(frame, schema, scan, choices)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(table))
    held = int(round(len(table) * holdout_share)) if len(table) * holdout_share >= MIN_HOLDOUT_ROWS else 0
    train = table.iloc[order[held:]]  # the holdout is only for the report, on the real values below
    if not held:
        plan.notes.append(
            f"Too few rows to hold {MIN_HOLDOUT_ROWS} out: fitted on all of them, and privacy is not measured against a holdout."
        )
    progress(20, f"Fitting the {method} model on {len(train):,} rows")
    if method == "dp" and not (epsilon and epsilon > 0):
        raise SynthesisError("The DP generator needs a positive epsilon.")
    generator = generator_for(method, epsilon=epsilon, delta=delta, max_epochs=max_epochs)
    generator.progress = progress
    generator.fit(train[plan.modelled], plan, seed=seed)
    fitted = time.perf_counter()
    progress(50, f"Sampling {rows:,} rows")
    if method == "dp":  # replacing rows by looking at the real ones would spend privacy the ledger does not count
        synthetic, removed = generator.sample(rows, seed=seed), 0
    else:
        synthetic, removed = _sample_without_copies(generator, train, plan, rows, seed)
    _redraw_real_identifiers(synthetic, table, plan, np.random.default_rng(seed + 2000))
    sampled = time.perf_counter()
    progress(70, "Evaluating fidelity, utility and privacy")
    real = plan.real_values(frame)
    report = evaluate(
        real.iloc[order[held:]],
        real.iloc[order[:held]],
        synthetic,
        plan.kinds,
        target=target,
        seed=seed,
        modelled=plan.modelled,
        reasons=plan.reasons,
        groups=None if scan is None else _groups(scan),
    )
    report["generator"] = {
        "method": method,
        "seed": seed,
        "rows": rows,
        "holdout_share": held / len(table),
        "fit_s": round(fitted - started, 3),
        "sample_s": round(sampled - fitted, 3),
    }
    if method == "dp":
        report["generator"].update(epsilon=generator.epsilon, delta=generator.delta, rho=generator.rho)
        plan.notes.append(
            f"Differential privacy: (ε = {generator.epsilon:g}, δ = {generator.delta:g}) on the rows fitted; the domain (categories and ranges) "
            "is treated as public; rows are not compared with real ones afterwards, so exact copies are reported, not replaced."
        )
    if method == "deep":
        report["generator"].update(device=generator.device_used, max_epochs=generator.max_epochs, max_minutes=generator.max_minutes)
    report["notes"] = plan.notes
    report["modelled"] = plan.modelled
    report["exact_copies_removed"] = removed
    return synthetic, report, generator.to_json()


def _groups(scan: dict) -> list[str]:
    """The columns the bias check splits the rows by: those the scan found sensitive or quasi-identifying."""
    from workbench.privacy.classify import QUASI, SENSITIVE

    return [c["name"] for c in scan.get("columns", []) if c.get("kind") in (QUASI, SENSITIVE)]


def _sample_without_copies(generator, train: pd.DataFrame, plan, rows: int, seed: int) -> tuple[pd.DataFrame, int]:
    """Sample, then replace rows that copy a rare training row — one whose values, on every modelled column,
    fewer than MIN_LEVEL_COUNT real rows share, so that it points at a person (up to twenty rounds, then leave them out).
    Copies of common combinations (say, two yes/no columns) disclose no one; the report counts them."""
    from workbench.synthesis.base import MIN_LEVEL_COUNT
    from workbench.synthesis.evaluate import _row_keys

    synthetic = generator.sample(rows, seed=seed)
    if not plan.modelled:
        return synthetic, 0
    counts = _row_keys(train[plan.modelled]).value_counts()
    rare = set(counts[counts < MIN_LEVEL_COUNT].index)
    removed = 0
    for attempt in range(1, MAX_RESAMPLES + 1):
        copies = _row_keys(synthetic[plan.modelled]).isin(rare).to_numpy()
        if not copies.any():
            break
        removed += int(copies.sum())
        fresh = generator.sample(int(copies.sum()), seed=seed + attempt)
        synthetic = pd.concat([synthetic[~copies], fresh], ignore_index=True)
    copies = _row_keys(synthetic[plan.modelled]).isin(rare).to_numpy()
    if copies.any():  # fresh rows keep landing on rare real ones: leave them out
        synthetic = synthetic[~copies].reset_index(drop=True)
        plan.notes.append(
            f"{int(copies.sum())} sampled rows kept copying rare real rows and were left out: {len(synthetic):,} rows instead of {rows:,}."
        )
    if synthetic.empty:
        raise SynthesisError(
            "Every sampled row copied a rare real record, so none could be kept; the table is too small or too coarse to synthesise."
        )
    # identifiers and other filled columns drawn once for the final rows, so sequences and codes stay unique
    return plan.complete(synthetic[plan.modelled], len(synthetic), np.random.default_rng(seed + 1000)), removed


def _redraw_real_identifiers(synthetic: pd.DataFrame, real: pd.DataFrame, plan, rng: np.random.Generator) -> None:
    """Fresh identifiers (names, codes, dates of birth) that happen to equal a real one of the same column are drawn
    again: a coincidence links to nothing, but a reader who finds a patient's name should not have to take that on trust."""
    from workbench.synthesis.base import _fill

    for name, fill in plan.fills.items():
        if fill["how"] not in ("surrogate", "code", "dates"):
            continue
        taken = set(real[name].dropna().astype(str))
        for _ in range(50):
            clash = synthetic[name].astype(str).isin(taken).to_numpy()
            if not clash.any():
                break
            synthetic.loc[clash, name] = _fill(fill, int(clash.sum()), rng).to_numpy()


def to_arrow(synthetic: pd.DataFrame, real_schema: pa.Schema) -> pa.Table:
    """The synthetic table with the real table's Arrow types, column for column."""
    arrays = []
    for field in real_schema:
        values = synthetic[field.name]
        if values.isna().all():
            arrays.append(pa.nulls(len(values), type=field.type))
            continue
        if pa.types.is_dictionary(field.type):
            arrays.append(pa.array(values.astype("string"), type=pa.string()).dictionary_encode().cast(field.type))
            continue
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            arrays.append(pa.array(values.astype("string"), type=field.type))
            continue
        array = pa.array(values, from_pandas=True)
        arrays.append(array.cast(field.type, safe=False) if array.type != field.type else array)
    return pa.Table.from_arrays(arrays, schema=pa.schema([pa.field(f.name, f.type) for f in real_schema]))
