"""How faithful, useful and safe a synthetic table is, measured against the real rows it was fitted on
(train) and real rows it never saw (holdout).

Fidelity follows SDMetrics' quality report: per column 1 − KS statistic (numbers, dates) or 1 − total
variation distance (categories); per pair of columns the similarity of their correlation (numbers) or of
their contingency table (anything else, numbers binned); the score is the mean of the two means × 100.
Utility is train-on-synthetic / test-on-real against train-on-real / test-on-real. Privacy compares the
synthetic rows' distances to train rows with their distances to holdout rows (a model that copies its
training data sits closer to train), counts exact copies, runs a distance-based membership-inference
attack, and the singling-out, linkability and attribute-inference attacks of Anonymeter (Giomi et al.,
2023), each reported as the attack's success on train rows beyond its success on holdout rows.
"""

import numpy as np
import pandas as pd
from scipy import stats

from workbench.synthesis.base import OTHER, as_numbers

NUMERIC = ("int", "float", "date", "datetime")
MAX_PAIR_COLUMNS = 40
MAX_DISTANCE_ROWS = 5000
BINS = 10
MAX_UTILITY_LEVELS = 200


def _labels(values: pd.Series) -> pd.Series:
    """Values as comparable labels; whole numbers stored as floats (a CSV round trip with gaps) read as 1, not 1.0."""
    if pd.api.types.is_float_dtype(values) and not values.dropna().empty and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    return values.astype("string").fillna("\x00missing")


def _binned(real: pd.Series, synthetic: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """Both columns as labels: categories as they are, numbers in quantile bins of the real column."""
    if kind not in NUMERIC:
        return _labels(real), _labels(synthetic)
    a, b = as_numbers(real, kind), as_numbers(synthetic, kind)
    edges = np.unique(np.nanquantile(a, np.linspace(0, 1, BINS + 1))) if np.isfinite(a).any() else np.array([0.0])
    inner = edges[1:-1]

    def label(x: np.ndarray) -> pd.Series:
        bins = np.searchsorted(inner, x, side="right").astype(object)
        bins[np.isnan(x)] = "missing"
        return pd.Series(bins).astype(str)

    return label(a), label(b)


def _tv_complement(a: pd.Series, b: pd.Series) -> float:
    p, q = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(1 - 0.5 * p.subtract(q, fill_value=0).abs().sum())


def column_shapes(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str]) -> list[dict]:
    out = []
    for name in real.columns:
        kind = kinds[name]
        if kind in NUMERIC:
            a, b = as_numbers(real[name], kind), as_numbers(synthetic[name], kind)
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
            score = 1 - stats.ks_2samp(a, b).statistic if len(a) and len(b) else float(len(a) == len(b))
            metric = "KS complement"
        else:
            score, metric = _tv_complement(_labels(real[name]), _labels(synthetic[name])), "TV complement"
        missing = abs(float(real[name].isna().mean()) - float(synthetic[name].isna().mean()))
        out.append({"column": name, "metric": metric, "score": round(float(score), 4), "missing_gap": round(missing, 4)})
    return out


def pair_trends(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> list[dict]:
    names = list(real.columns)
    if len(names) > MAX_PAIR_COLUMNS:
        names = sorted(rng.choice(names, MAX_PAIR_COLUMNS, replace=False).tolist(), key=list(real.columns).index)
    binned = {name: _binned(real[name], synthetic[name], kinds[name]) for name in names}
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if kinds[a] in NUMERIC and kinds[b] in NUMERIC:
                r = pd.Series(as_numbers(real[a], kinds[a])).corr(pd.Series(as_numbers(real[b], kinds[b])))
                s = pd.Series(as_numbers(synthetic[a], kinds[a])).corr(pd.Series(as_numbers(synthetic[b], kinds[b])))
                if np.isnan(r) or np.isnan(s):
                    continue
                out.append({"columns": [a, b], "metric": "correlation similarity", "score": round(float(1 - abs(r - s) / 2), 4)})
            else:
                joint_real = binned[a][0] + "\x1f" + binned[b][0]
                joint_synthetic = binned[a][1] + "\x1f" + binned[b][1]
                out.append(
                    {"columns": [a, b], "metric": "contingency similarity", "score": round(_tv_complement(joint_real, joint_synthetic), 4)}
                )
    return out


class _Encoder:
    """Rows as vectors for distances: numbers scaled to [0, 1] by the real range, categories one-hot (Gower-like)."""

    def __init__(self, real: pd.DataFrame, kinds: dict[str, str]):
        self.kinds = kinds
        self.ranges, self.levels = {}, {}
        for name in real.columns:
            if kinds[name] in NUMERIC:
                x = as_numbers(real[name], kinds[name])
                low, high = (np.nanmin(x), np.nanmax(x)) if np.isfinite(x).any() else (0.0, 1.0)
                self.ranges[name] = (low, (high - low) or 1.0)
            else:
                self.levels[name] = _labels(real[name]).value_counts().index[:50].tolist()

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for name, (low, span) in self.ranges.items():
            x = (as_numbers(frame[name], self.kinds[name]) - low) / span
            parts += [np.nan_to_num(x, nan=0.0), np.isnan(x).astype(float)]
        for name, levels in self.levels.items():
            labels = _labels(frame[name]).to_numpy()
            parts += [(labels == level).astype(float) for level in levels]
        return np.column_stack(parts) if parts else np.zeros((len(frame), 1))


def _nearest(reference: np.ndarray, queries: np.ndarray, k: int = 1) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    model = NearestNeighbors(n_neighbors=min(k, len(reference))).fit(reference)
    return model.kneighbors(queries)


def privacy(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str], rng) -> dict:
    from sklearn.metrics import roc_auc_score

    copies = {
        "exact_copies": _exact_copies(train, synthetic),
        "exact_copies_of_rare_rows": _exact_copies(train, synthetic, rare_only=True),
    }
    copies["exact_copy_share"] = round(copies["exact_copies"] / max(len(synthetic), 1), 4)
    size = min(len(train), len(holdout), MAX_DISTANCE_ROWS)
    if size < 5:
        return {"note": "Too few rows held out to measure the distance and inference risks against a holdout.", **copies}
    train_s = train.sample(size, random_state=int(rng.integers(1 << 31)))
    holdout_s = holdout.sample(size, random_state=int(rng.integers(1 << 31)))
    synthetic_s = synthetic.sample(min(len(synthetic), MAX_DISTANCE_ROWS), random_state=int(rng.integers(1 << 31)))
    encode = _Encoder(train, kinds)
    t, h, s = encode(train_s), encode(holdout_s), encode(synthetic_s)
    to_train, _ = _nearest(t, s, 2)
    to_holdout, _ = _nearest(h, s, 1)
    closer = (to_train[:, 0] < to_holdout[:, 0]).mean() + 0.5 * (to_train[:, 0] == to_holdout[:, 0]).mean()
    nndr = to_train[:, 0] / np.maximum(to_train[:, -1], 1e-12)
    member_distance, _ = _nearest(s, t, 1)
    outsider_distance, _ = _nearest(s, h, 1)
    labels = np.r_[np.ones(size), np.zeros(size)]
    auc = roc_auc_score(labels, -np.r_[member_distance[:, 0], outsider_distance[:, 0]])
    return {
        "rows_compared": size,
        "dcr_closer_to_train_share": round(float(closer), 4),
        "dcr_median_train": round(float(np.median(to_train[:, 0])), 4),
        "dcr_median_holdout": round(float(np.median(to_holdout[:, 0])), 4),
        "nndr_median": round(float(np.median(nndr)), 4),
        **copies,
        "membership_inference_auc": round(float(auc), 4),
        "attribute_inference": attribute_inference(train_s, holdout_s, synthetic_s, kinds, encode),
        "linkability": linkability(train_s, holdout_s, synthetic_s, kinds, rng),
        "singling_out": singling_out(train_s, holdout_s, synthetic_s, kinds, rng),
    }


def _row_keys(frame: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(frame.astype("string").fillna("\x00"), index=False)


def _exact_copies(train: pd.DataFrame, synthetic: pd.DataFrame, *, rare_only: bool = False) -> int:
    """Synthetic rows equal, on every modelled column, to some training row (with `rare_only`, to a training row
    fewer than five real rows share: those point at a person)."""
    counts = _row_keys(train).value_counts()
    keys = counts[counts < 5].index if rare_only else counts.index
    return int(_row_keys(synthetic).isin(set(keys)).sum())


def _risk(train_rate: float, control_rate: float) -> float:
    """Anonymeter's risk: the attack's success on train beyond its success on the control set, scaled to [0, 1]."""
    if control_rate >= 1:
        return 0.0
    return round(max(0.0, (train_rate - control_rate) / (1 - control_rate)), 4)


def attribute_inference(train, holdout, synthetic, kinds, encode, secrets: int = 6) -> dict:
    """The attacker knows every column but one (the secret) of a target and guesses the secret from the
    nearest synthetic row; a guess is right if equal (categories) or within 5 % of the range (numbers)."""
    results = {}
    for secret in list(train.columns)[:secrets] if len(train.columns) > 1 else []:
        known = [c for c in train.columns if c != secret]
        sub = _Encoder(train[known], {c: kinds[c] for c in known})
        _, neighbours = _nearest(sub(synthetic[known]), sub(train[known]), 1)
        _, control_neighbours = _nearest(sub(synthetic[known]), sub(holdout[known]), 1)
        guess_train = synthetic[secret].iloc[neighbours[:, 0]].reset_index(drop=True)
        guess_control = synthetic[secret].iloc[control_neighbours[:, 0]].reset_index(drop=True)
        rate_train = _right(guess_train, train[secret].reset_index(drop=True), kinds[secret], train[secret])
        rate_control = _right(guess_control, holdout[secret].reset_index(drop=True), kinds[secret], train[secret])
        results[secret] = {"train": round(rate_train, 4), "control": round(rate_control, 4), "risk": _risk(rate_train, rate_control)}
    return {"per_secret": results, "max_risk": max((r["risk"] for r in results.values()), default=0.0)}


def _right(guess: pd.Series, truth: pd.Series, kind: str, reference: pd.Series) -> float:
    if kind in NUMERIC:
        g, t, r = as_numbers(guess, kind), as_numbers(truth, kind), as_numbers(reference, kind)
        tolerance = 0.05 * ((np.nanmax(r) - np.nanmin(r)) if np.isfinite(r).any() else 1.0)
        return float(np.mean(np.abs(g - t) <= tolerance))
    return float((_labels(guess) == _labels(truth)).mean())


def linkability(train, holdout, synthetic, kinds, rng, targets: int = 500) -> dict:
    """The attacker holds two halves of a target's columns from two sources and links them through the
    synthetic data: success when the nearest synthetic rows for both halves agree."""
    columns = list(train.columns)
    if len(columns) < 2:
        return {"note": "needs two or more modelled columns"}
    order = rng.permutation(len(columns))
    left, right = [columns[i] for i in order[: len(columns) // 2]], [columns[i] for i in order[len(columns) // 2 :]]

    def rate(targets_frame: pd.DataFrame) -> float:
        hits = []
        for half in (left, right):
            encode = _Encoder(train[half], {c: kinds[c] for c in half})
            _, found = _nearest(encode(synthetic[half]), encode(targets_frame[half]), 5)
            hits.append(found)
        return float(np.mean([len(set(a) & set(b)) > 0 for a, b in zip(*hits)]))

    n = min(targets, len(train), len(holdout))
    train_rate, control_rate = rate(train.head(n)), rate(holdout.head(n))
    return {
        "columns_left": left,
        "columns_right": right,
        "train": round(train_rate, 4),
        "control": round(control_rate, 4),
        "risk": _risk(train_rate, control_rate),
    }


def singling_out(train, holdout, synthetic, kinds, rng, attempts: int = 500) -> dict:
    """Predicates read off synthetic rows (one column's value, or two columns' together) that single out
    exactly one record of the train sample, against the same on the holdout sample (Anonymeter's
    univariate and multivariate modes, simplified)."""
    columns = list(train.columns)
    labels = {
        name: (_binned(train[name], synthetic[name], kinds[name]), _binned(holdout[name], synthetic[name], kinds[name])) for name in columns
    }
    hits_train = hits_control = tried = 0
    for _ in range(attempts):
        row = int(rng.integers(len(synthetic)))
        chosen = rng.choice(columns, size=min(2, len(columns)), replace=False)
        mask_train = np.ones(len(train), dtype=bool)
        mask_control = np.ones(len(holdout), dtype=bool)
        for name in chosen:
            (real_t, synthetic_t), (real_c, _) = labels[name]
            value = synthetic_t.iloc[row]
            mask_train &= real_t.to_numpy() == value
            mask_control &= real_c.to_numpy() == value
        tried += 1
        hits_train += int(mask_train.sum() == 1)
        hits_control += int(mask_control.sum() == 1)
    train_rate, control_rate = hits_train / max(tried, 1), hits_control / max(tried, 1)
    return {"attempts": tried, "train": round(train_rate, 4), "control": round(control_rate, 4), "risk": _risk(train_rate, control_rate)}


def utility(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str], target: str) -> dict:
    """Train on synthetic, test on real holdout, against train on real: accuracy for a category, R² for a number."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, r2_score
    from threadpoolctl import threadpool_limits

    features = [c for c in train.columns if c != target]
    if not features:
        return {"note": "The target is the only modelled column; nothing to predict it from."}
    # a whole-number target with few values (0/1 outcomes, grades) is a class, not a quantity
    numeric_target = kinds[target] == "float" or (kinds[target] == "int" and train[target].nunique() > 10)

    def matrix(frame: pd.DataFrame, categories: dict) -> np.ndarray:
        cols = []
        for name in features:
            if kinds[name] in NUMERIC:
                cols.append(as_numbers(frame[name], kinds[name]))
            else:
                codes = pd.Categorical(_labels(frame[name]), categories=categories[name]).codes.astype(float)
                codes[codes < 0] = np.nan
                cols.append(codes)
        return np.column_stack(cols)

    # a category's commonest levels in the real rows (a tree model takes at most 255); the rest read as missing
    categories = {n: _labels(train[n]).value_counts().index[:MAX_UTILITY_LEVELS].tolist() for n in features if kinds[n] not in NUMERIC}
    categorical = [i for i, n in enumerate(features) if kinds[n] not in NUMERIC]

    def score(fit_on: pd.DataFrame) -> float:
        y = as_numbers(fit_on[target], kinds[target]) if numeric_target else _labels(fit_on[target]).to_numpy()
        y_test = as_numbers(holdout[target], kinds[target]) if numeric_target else _labels(holdout[target]).to_numpy()
        keep, keep_test = (~np.isnan(y), ~np.isnan(y_test)) if numeric_target else (np.ones(len(y), bool), np.ones(len(y_test), bool))
        if keep.sum() < 2 or keep_test.sum() < 1 or (not numeric_target and len(set(y[keep])) < 2):
            return float("nan")
        # early stopping on a tenth of the rows: the same for real and synthetic, and a few dozen trees instead of 200 per class
        model = (HistGradientBoostingRegressor if numeric_target else HistGradientBoostingClassifier)(
            categorical_features=categorical or None, random_state=0, max_iter=200, early_stopping=keep.sum() >= 200
        )
        features_fit = matrix(fit_on, categories)[keep]
        features_fit[:, np.isnan(features_fit).all(axis=0)] = 0.0  # a column a generator left empty carries nothing (and breaks binning)
        # one thread: workers run side by side, one per core, and OpenMP threads that wait for a busy core spin (a
        # 1,000-row fit took 70 s beside another job instead of 1 s)
        with threadpool_limits(limits=1):
            model.fit(features_fit, y[keep])
            predicted = model.predict(matrix(holdout, categories)[keep_test])
        return float(r2_score(y_test[keep_test], predicted) if numeric_target else accuracy_score(y_test[keep_test], predicted))

    real, synthetic_score = score(train), score(synthetic)
    ratio = synthetic_score / real if real and not np.isnan(real) and not np.isnan(synthetic_score) and real > 0 else None
    return {
        "target": target,
        "task": "regression" if numeric_target else "classification",
        "metric": "R²" if numeric_target else "accuracy",
        "train_real_test_real": None if np.isnan(real) else round(real, 4),
        "train_synthetic_test_real": None if np.isnan(synthetic_score) else round(synthetic_score, 4),
        "ratio": None if ratio is None else round(ratio, 4),
    }


SHARE_TOLERANCE = 0.05  # a subgroup whose share of the rows moved more than this (absolute) is flagged
RATE_TOLERANCE = 0.10  # and one whose target rate (or mean, in real standard deviations) moved more than this
MIN_SUBGROUP_ROWS = 20  # below this a real subgroup's rate is too noisy to judge: shown, not flagged on rate
MAX_SUBGROUPS = 30


def _subgroups(real: pd.Series, synthetic: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """Subgroup labels: a category's levels, a number's quintiles of the real column (as ranges a reader can use).
    Levels held by fewer than MIN_SUBGROUP_ROWS real rows are pooled as OTHER on both sides: the report is read by
    people who may not see the real rows, and a rare level named with its count points at someone."""
    if kind not in NUMERIC:
        a, b = _labels(real), _labels(synthetic)
        counts = a.value_counts()
        kept = set(counts[counts >= MIN_SUBGROUP_ROWS].index)
        return a.where(a.isin(kept), OTHER), b.where(b.isin(kept), OTHER)
    a, b = as_numbers(real, kind), as_numbers(synthetic, kind)
    edges = np.unique(np.nanquantile(a, np.linspace(0, 1, 6))) if np.isfinite(a).any() else np.array([0.0])
    shown = [_edge(e, kind) for e in edges]

    def label(x: np.ndarray) -> pd.Series:
        index = np.clip(np.searchsorted(edges[1:-1], x, side="right"), 0, max(len(edges) - 2, 0))
        out = np.array([f"{shown[i]} to {shown[i + 1]}" if len(edges) > 1 else shown[0] for i in index], dtype=object)
        out[np.isnan(x)] = "\x00missing"
        return pd.Series(out)

    return label(a), label(b)


def _edge(value: float, kind: str) -> str:
    if kind in ("date", "datetime"):
        return str(pd.Timestamp(int(value)).date())
    return f"{value:.4g}"


def bias(train: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str], groups: list[str], target: str | None) -> dict:
    """For each sensitive or quasi-identifying attribute: its subgroups' share of the rows and the target's rate in
    each (the share of its rarer class, or its mean for a number), real against synthetic; a subgroup that moved
    beyond the tolerances, or vanished from the copy, is flagged. A copy that keeps the averages but drops the rare
    group, or flattens its outcome, is a biased copy, whatever its fidelity score says."""
    target_kind = kinds.get(target) if target else None
    numeric_target = target_kind in ("float", "int") and target and train[target].nunique() > 10
    positive = None
    if target and not numeric_target:
        counts = _labels(train[target]).value_counts()
        positive = counts.index[-1] if len(counts) > 1 else None  # the rarer class: the outcome a model is asked about
    if numeric_target:
        real_y = as_numbers(train[target], target_kind)
        spread = float(np.nanstd(real_y)) or 1.0

    def rate(frame: pd.DataFrame, mask: np.ndarray) -> float | None:
        if not mask.any():
            return None
        if numeric_target:
            values = as_numbers(frame[target], target_kind)[mask]
            return float(np.nanmean(values)) if np.isfinite(values).any() else None
        return float((_labels(frame[target]).to_numpy()[mask] == positive).mean())

    attributes, flagged = {}, 0
    for name in groups:
        if name not in train.columns or name == target:
            continue
        real_labels, synthetic_labels = _subgroups(train[name], synthetic[name], kinds[name])
        real_share = real_labels.value_counts(normalize=True)
        synthetic_share = synthetic_labels.value_counts(normalize=True)
        rows = []
        for level in real_share.index[:MAX_SUBGROUPS]:
            real_mask, synthetic_mask = (real_labels == level).to_numpy(), (synthetic_labels == level).to_numpy()
            row = {
                "subgroup": "missing" if level == "\x00missing" else str(level),
                "real_rows": int(real_mask.sum()) if real_mask.sum() >= MIN_SUBGROUP_ROWS else f"fewer than {MIN_SUBGROUP_ROWS}",
                "real_share": round(float(real_share[level]), 4),
                "synthetic_share": round(float(synthetic_share.get(level, 0.0)), 4),
            }
            reasons = []
            if not synthetic_mask.any():
                reasons.append("absent from the copy")
            elif abs(row["real_share"] - row["synthetic_share"]) > SHARE_TOLERANCE:
                reasons.append("share moved")
            if target and (numeric_target or positive is not None):
                real_rate, synthetic_rate = rate(train, real_mask), rate(synthetic, synthetic_mask)
                row["real_rate"] = None if real_rate is None else round(real_rate, 4)
                row["synthetic_rate"] = None if synthetic_rate is None else round(synthetic_rate, 4)
                if real_rate is not None and synthetic_rate is not None and real_mask.sum() >= MIN_SUBGROUP_ROWS:
                    moved = abs(real_rate - synthetic_rate) / (spread if numeric_target else 1.0)
                    if moved > RATE_TOLERANCE:
                        reasons.append("target rate moved")
            row["flags"] = reasons
            flagged += bool(reasons)
            rows.append(row)
        attributes[name] = {"subgroups": rows, "levels": int(len(real_share)), "shown": len(rows)}
    out = {
        "attributes": attributes,
        "flagged": flagged,
        "tolerances": {"share": SHARE_TOLERANCE, "rate": RATE_TOLERANCE, "min_rows_for_rate": MIN_SUBGROUP_ROWS},
    }
    if target:
        out["target"] = target
        out["rate"] = (
            f"mean of {target} (moves counted in real standard deviations)" if numeric_target else f"share of {target} = {positive}"
        )
    if not attributes:
        out["note"] = "No sensitive or quasi-identifying column is modelled (from the scan), so no subgroup was checked."
    return out


def evaluate(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: dict[str, str],
    *,
    target: str | None = None,
    seed: int = 0,
    modelled: list[str] | None = None,
    reasons: dict[str, str] | None = None,
    groups: list[str] | None = None,
) -> dict:
    """The whole report. Fidelity is scored over every column of the copy — the ones the generator did not model
    (identifiers filled with fresh values, free text left empty) included, each with the reason it was not
    modelled, so a copy that fills a column with noise cannot score well on it. Privacy and utility are measured
    on the modelled columns: the filled ones hold values drawn from no record."""
    rng = np.random.default_rng(seed)
    lacking = [c for c in train.columns if c not in synthetic.columns]
    if lacking:
        raise ValueError(f"The synthetic table lacks {len(lacking)} of the real table's columns: {', '.join(map(str, lacking))}")
    columns = list(train.columns)
    modelled = [c for c in (columns if modelled is None else modelled) if c in columns]
    reasons = reasons or {}
    shapes = column_shapes(train[columns], synthetic[columns], kinds)
    for shape in shapes:
        shape["modelled"] = shape["column"] in modelled
        if not shape["modelled"]:
            shape["reason"] = reasons.get(shape["column"], "not modelled")
    pairs = pair_trends(train[columns], synthetic[columns], kinds, rng)
    shape_mean = float(np.mean([s["score"] for s in shapes])) if shapes else 0.0
    pair_mean = float(np.mean([p["score"] for p in pairs])) if pairs else shape_mean
    kept = [s["score"] for s in shapes if s["modelled"]]
    kept_pairs = [p["score"] for p in pairs if all(c in modelled for c in p["columns"])]
    kept_shape = float(np.mean(kept)) if kept else 0.0
    kept_pair = float(np.mean(kept_pairs)) if kept_pairs else kept_shape
    train_m, holdout_m, synthetic_m = train[modelled], holdout[modelled], synthetic[modelled]
    report = {
        "columns": columns,
        "modelled": modelled,
        "unmodelled": [{"column": s["column"], "reason": s["reason"], "score": s["score"]} for s in shapes if not s["modelled"]],
        "rows": {"train": len(train), "holdout": len(holdout), "synthetic": len(synthetic)},
        "fidelity": {
            "score": round(100 * (shape_mean + pair_mean) / 2, 2),
            "column_shapes": round(shape_mean, 4),
            "pair_trends": round(pair_mean, 4),
            "columns_scored": len(shapes),
            "modelled_score": round(100 * (kept_shape + kept_pair) / 2, 2) if kept else None,
            "per_column": shapes,
            "per_pair": pairs,
        },
        "privacy": privacy(train_m, holdout_m, synthetic_m, kinds, rng) if modelled else {"note": "no modelled columns"},
    }
    if target:
        if target not in modelled:
            report["utility"] = {"note": f"The target '{target}' is not a modelled column."}
        else:
            report["utility"] = utility(train_m, holdout_m, synthetic_m, kinds, target)
    if groups is not None:
        report["bias"] = bias(train_m, synthetic_m, kinds, [g for g in groups if g in modelled], target if target in modelled else None)
    return report
