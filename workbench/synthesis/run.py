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
    method: str = "auto",
    rows: int | None = None,
    scan: dict | None = None,
    target: str | None = None,
    seed: int = 0,
    epsilon: float | None = None,
    delta: float | None = None,
    holdout_share: float = HOLDOUT_SHARE,
    max_epochs: float | None = None,
    choices: dict[str, str] | None = None,
    text_epsilon: float | None = None,
    text_epochs: float | None = None,
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
    if method == "dp" and not (epsilon and epsilon > 0):
        raise SynthesisError("The DP generator needs a positive epsilon.")
    chosen = None
    if method == "auto":
        if epsilon:
            raise SynthesisError("The automatic choice is for copies without differential privacy: pick dp or deep for a DP copy.")
        chosen = choose_method(train, plan, seed=seed, max_epochs=max_epochs, progress=progress)
        method = chosen["method"]
    progress(20, f"Fitting the {method} model on {len(train):,} rows")
    generator = generator_for(method, epsilon=epsilon, delta=delta, max_epochs=max_epochs)
    generator.progress = progress
    generator.fit(train[plan.modelled], plan, seed=seed)
    fitted = time.perf_counter()
    progress(50, f"Sampling {rows:,} rows")
    if epsilon:  # replacing rows by looking at the real ones would spend privacy the ledger does not count
        synthetic, removed = generator.sample(rows, seed=seed), 0
    else:
        synthetic, removed = _sample_without_copies(generator, train, plan, rows, seed)
    _redraw_real_identifiers(synthetic, table, plan, np.random.default_rng(seed + 2000))
    texts = None
    if plan.texts:
        texts = _write_texts(
            frame, table, synthetic, plan, scan, order[held:], seed=seed, epsilon=text_epsilon, epochs=text_epochs, progress=progress
        )
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
        **({"asked": "auto", "choice": chosen} if chosen else {}),
        "seed": seed,
        "rows": rows,
        "holdout_share": held / len(table),
        "fit_s": round(fitted - started, 3),
        "sample_s": round(sampled - fitted, 3),
    }
    if chosen:
        plan.notes.append(chosen["why"])
    if method == "marginals":
        plan.notes.append("The marginal model was measured without noise: it carries no differential-privacy guarantee.")
    if method == "dp":
        report["generator"].update(epsilon=generator.epsilon, delta=generator.delta, rho=generator.rho)
        plan.notes.append(
            f"Differential privacy: (ε = {generator.epsilon:g}, δ = {generator.delta:g}) on the rows fitted; the domain (categories and ranges) "
            "is treated as public; rows are not compared with real ones afterwards, so exact copies are reported, not replaced."
        )
    if epsilon and plan.texts and not text_epsilon:
        plan.notes.append("The written text is not covered by the DP guarantee: its text model was trained without DP-SGD.")
    if method == "deep":
        report["generator"].update(device=generator.device_used, max_epochs=generator.max_epochs, max_minutes=generator.max_minutes)
        if epsilon:
            report["generator"].update(epsilon=generator.epsilon, delta=generator.delta, epsilon_reached=generator.spent)
            plan.notes.append(
                f"Differential privacy: the network was trained under DP-SGD with (ε = {generator.epsilon:g}, δ = {generator.delta:g}) "
                f"on the rows fitted (ε reached: {generator.spent if generator.spent is not None else 'not reported'}); rows are not "
                "compared with real ones afterwards, so exact copies are reported, not replaced."
            )
    model = generator.to_json()
    if texts is not None:
        writer, report["text"] = texts
        model["text"] = writer.to_json()
        report["generator"]["text"] = {
            "engine": model["text"]["engine"],
            "columns": writer.columns,
            "context": writer.context,
            "device": writer.device_used,
            "max_epochs": writer.max_epochs,
            "epsilon": writer.epsilon,
            "delta": writer.delta,
            "epsilon_reached": writer.spent,
        }
    report["notes"] = plan.notes
    report["modelled"] = plan.modelled
    report["exact_copies_removed"] = removed
    return synthetic, report, model


# The candidates of the automatic choice, in the order they are tried; deep only where a GPU is free.
AUTO_CANDIDATES = ["copula", "marginals"]
AUTO_VALIDATION_SHARE = 0.25
MIN_VALIDATION_ROWS = 20


def choose_method(train: pd.DataFrame, plan, *, seed: int, max_epochs: float | None = None, progress=lambda p, m: None) -> dict:
    """Fit each candidate on three quarters of the training rows, score its sample against the other quarter (the
    report's fidelity: column shapes and pair trends, over the modelled columns), and keep the best; candidates after
    the time budget (WORKBENCH_SYNTH_CHOICE_SECONDS) has run out are not started. The report's own holdout is never
    read here. Returns the method, each candidate's score and time, and a sentence saying which and why."""
    from django.conf import settings

    from workbench.synthesis import deep
    from workbench.synthesis.evaluate import column_shapes, pair_trends

    candidates = list(AUTO_CANDIDATES)
    if deep.available() and deep.gpu_free():
        candidates.append("deep")
    rng = np.random.default_rng(seed + 17)
    order = rng.permutation(len(train))
    held = int(round(len(train) * AUTO_VALIDATION_SHARE))
    if held < MIN_VALIDATION_ROWS or not plan.modelled:
        return {
            "method": "copula",
            "candidates": [],
            "why": f"Generator: the Gaussian copula (too few rows to compare candidates on {MIN_VALIDATION_ROWS} held-out ones).",
        }
    fit_rows, check_rows = train.iloc[order[held:]][plan.modelled], train.iloc[order[:held]][plan.modelled]
    budget, started, tried = settings.SYNTH_CHOICE_SECONDS, time.perf_counter(), []
    for number, candidate in enumerate(candidates):
        if tried and time.perf_counter() - started > budget:
            tried.append({"method": candidate, "score": None, "seconds": None, "skipped": "the time budget had run out"})
            continue
        progress(10 + 8 * number // len(candidates), f"Choosing the generator: trying {candidate}")
        begun = time.perf_counter()
        try:
            generator = generator_for(candidate, max_epochs=max_epochs)
            generator.fit(fit_rows, plan, seed=seed)
            sample = generator.sample(len(check_rows), seed=seed + 1)[plan.modelled]
        except SynthesisError as error:
            tried.append({"method": candidate, "score": None, "seconds": round(time.perf_counter() - begun, 2), "skipped": str(error)})
            continue
        shapes = [s["score"] for s in column_shapes(check_rows, sample, plan.kinds)]
        pairs = [p["score"] for p in pair_trends(check_rows, sample, plan.kinds, np.random.default_rng(seed))] or shapes
        score = round(100 * (float(np.mean(shapes)) + float(np.mean(pairs))) / 2, 2)
        tried.append({"method": candidate, "score": score, "seconds": round(time.perf_counter() - begun, 2)})
    scored = [t for t in tried if t["score"] is not None]
    if not scored:
        raise SynthesisError("No generator could be fitted: " + "; ".join(f"{t['method']}: {t['skipped']}" for t in tried))
    best = max(scored, key=lambda t: t["score"])  # ties go to the first tried, the copula
    others = ", ".join(f"{t['method']} {t['score']}" for t in scored if t is not best)
    skipped = "; ".join(f"{t['method']} not tried ({t['skipped']})" for t in tried if t["score"] is None)
    why = (
        f"Generator chosen automatically: {best['method']}, which scored {best['score']} on {held:,} training rows left out of "
        f"the candidates' fit (against {others or 'no other candidate'})" + (f"; {skipped}" if skipped else "") + "."
    )
    return {"method": best["method"], "candidates": tried, "validation_rows": held, "why": why}


def _write_texts(frame, table, synthetic, plan, scan, rows, *, seed, epsilon, epochs, progress):
    """The free-text columns of the copy, written by the text model trained on the training rows' text with every
    identifier replaced by its tag; returns the writer and the text measures per column."""
    from workbench.privacy.classify import DIRECT
    from workbench.synthesis import text

    found = {c["name"]: c for c in (scan or {}).get("columns", [])}
    identifiers = {
        n: found.get(n, {}).get("entity")
        for n in plan.columns
        if n not in plan.texts
        and (found.get(n, {}).get("kind") == DIRECT or plan.fills.get(n, {}).get("how") in ("surrogate", "code", "dates"))
    }
    progress(50, "Replacing identifiers in the text before the text model learns it")
    learnt, secrets_ = text.training_texts(frame.reset_index(drop=True), plan.texts, identifiers)
    writer = text.TextWriter(max_epochs=epochs, epsilon=epsilon)
    writer.progress = progress
    context = table.iloc[rows][plan.modelled].reset_index(drop=True)  # as the tabular model saw it (rare levels folded)
    taught = learnt.iloc[rows].reset_index(drop=True)
    present = taught.notna().any(axis=1).to_numpy()  # rows with no text teach nothing; missing text is drawn below
    if not present.any():
        raise SynthesisError("The text columns to write are empty in every training row; leave them out instead.")
    writer.fit(taught[present].reset_index(drop=True), context[present].reset_index(drop=True), plan.kinds, seed=seed)
    written = writer.sample(synthetic[[c for c in writer.context]], seed=seed)
    rng = np.random.default_rng(seed + 3000)
    measures = {}
    for name in plan.texts:
        scrubbed, leaked = text.scrub(written[name], secrets_)  # what the model learnt despite the tags
        filled, coincidences = text.scrub(text.fill_tags(scrubbed, rng), secrets_)  # a surrogate equal to a real one
        blank = rng.uniform(size=len(filled)) < float(taught[name].isna().mean())  # as often missing as the real text
        synthetic[name] = filled.mask(blank).to_numpy()
        measures[name] = text.measures(frame[name], synthetic[name], taught[name], leaked, written=scrubbed.mask(blank))
        measures[name]["surrogates_redrawn"] = coincidences
        if leaked:
            plan.notes.append(f"{name}: {leaked} identifiers of the real table found in the written text and replaced by <REDACTED>.")
    return writer, measures


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
