"""Gaussian copula: the fast default generator, for tables of mixed types.

Each modelled column is turned into a standard-normal score by its own marginal — numbers and dates by
their empirical distribution, categories and booleans by intervals of [0, 1] sized by frequency (Cramér's
"frequency encoding"), and a missing value is a state of its own. The scores' correlation matrix is the
copula. Sampling draws correlated normals and maps each back through its marginal: numbers by the
empirical quantile function (interpolated, so values fall between real ones, within the observed range,
rounded as the column was), categories by their interval.

The fitted model holds quantiles and category frequencies of the real data: it is stored encrypted,
like a version.
"""

import numpy as np
import pandas as pd
from scipy import special

from workbench.synthesis.base import Generator, Plan, as_booleans, as_numbers, from_numbers

QUANTILES = 512  # points of each numeric marginal kept in the model


def _to_normal(u: np.ndarray) -> np.ndarray:
    return special.ndtri(np.clip(u, 1e-6, 1 - 1e-6))


class GaussianCopula(Generator):
    method = "copula"

    def fit(self, frame: pd.DataFrame, plan: Plan, *, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.plan = plan
        self.marginals: dict[str, dict] = {}
        scores = []
        for name in plan.modelled:
            marginal, score = _fit_marginal(frame[name], plan.kinds[name], rng)
            self.marginals[name] = marginal
            scores.append(score)
        if scores:
            matrix = np.corrcoef(np.vstack(scores)) if len(scores) > 1 else np.ones((1, 1))
            self.correlation = _nearest_correlation(np.nan_to_num(matrix, nan=0.0))
        else:
            self.correlation = np.ones((0, 0))
        self.rows_fitted = len(frame)

    def sample(self, rows: int, *, seed: int = 0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        names = list(self.marginals)
        out = {}
        if names:
            normals = rng.multivariate_normal(np.zeros(len(names)), self.correlation, size=rows, method="eigh")
            uniforms = special.ndtr(normals)
            for index, name in enumerate(names):
                out[name] = _sample_marginal(self.marginals[name], uniforms[:, index])
        return self.plan.complete(pd.DataFrame(out, index=pd.RangeIndex(rows)), rows, rng)

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "marginals": self.marginals,
            "correlation": self.correlation.tolist(),
            "rows_fitted": self.rows_fitted,
            "plan": self.plan.to_json(),
        }

    @classmethod
    def from_json(cls, document: dict) -> "GaussianCopula":
        model = cls()
        model.marginals = document["marginals"]
        model.correlation = np.array(document["correlation"], dtype=float).reshape(len(model.marginals), len(model.marginals))
        model.rows_fitted = document["rows_fitted"]
        model.plan = Plan.from_json(document["plan"])
        return model


def _fit_marginal(values: pd.Series, kind: str, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """A column's marginal and each row's normal score under it."""
    missing = values.isna().to_numpy()
    share_missing = float(missing.mean())
    u = np.empty(len(values))
    if kind in ("int", "float", "date", "datetime"):
        numbers = as_numbers(values, kind)
        present = numbers[~missing]
        levels = np.quantile(present, np.linspace(0, 1, QUANTILES)) if len(present) else np.zeros(QUANTILES)
        decimals = _decimals(present) if kind == "float" else 0
        # rows that are present take the upper part of [0, 1] by rank (ties broken at random); missing rows the lower part
        ranks = pd.Series(present + rng.uniform(0, 1e-9, len(present)) * (np.ptp(present) if len(present) else 0)).rank().to_numpy()
        u[~missing] = share_missing + (1 - share_missing) * (ranks - 0.5) / max(len(present), 1)
        u[missing] = rng.uniform(0, share_missing, missing.sum()) if share_missing else 0
        marginal = {"kind": kind, "missing": share_missing, "levels": levels.tolist(), "decimals": decimals}
    else:
        text = values.astype("string")
        counts = text.value_counts(dropna=True)
        categories = counts.index.tolist()
        shares = (counts.to_numpy() / len(values)).tolist()
        starts = share_missing + np.concatenate([[0.0], np.cumsum(shares)[:-1]]) if shares else np.array([])
        position = {category: index for index, category in enumerate(categories)}
        codes = text.map(position).to_numpy(dtype=float, na_value=np.nan)
        present = ~np.isnan(codes)
        chosen = codes[present].astype(int)
        u[present] = np.asarray(starts)[chosen] + rng.uniform(0, 1, present.sum()) * np.asarray(shares)[chosen]
        u[~present] = rng.uniform(0, share_missing, (~present).sum()) if share_missing else 0
        marginal = {"kind": kind, "missing": share_missing, "categories": [str(c) for c in categories], "shares": shares}
    return marginal, _to_normal(u)


def _sample_marginal(marginal: dict, u: np.ndarray) -> pd.Series:
    missing = marginal["missing"]
    is_missing = u < missing
    rescaled = np.clip((u - missing) / max(1 - missing, 1e-12), 0, 1)
    kind = marginal["kind"]
    if "levels" in marginal:
        levels = np.asarray(marginal["levels"], dtype=float)
        numbers = np.interp(rescaled, np.linspace(0, 1, len(levels)), levels)
        return from_numbers(numbers, kind, marginal["decimals"]).mask(is_missing)
    shares = np.asarray(marginal["shares"], dtype=float)
    if not len(shares):
        return pd.Series([None] * len(u), dtype="object")
    edges = np.cumsum(shares) / shares.sum()
    index = np.minimum(np.searchsorted(edges, rescaled, side="right"), len(shares) - 1)
    values = pd.Series(np.asarray(marginal["categories"], dtype=object)[index], dtype="object")
    if kind == "bool":
        values = as_booleans(values)
    return values.mask(is_missing)


def _decimals(values: np.ndarray) -> int:
    """How many decimals the column was written with (up to 6), so synthetic values look like real ones."""
    sample = values[:5000]
    for decimals in range(7):
        if np.allclose(sample, np.round(sample, decimals), rtol=0, atol=1e-9):
            return decimals
    return 6


def _nearest_correlation(matrix: np.ndarray) -> np.ndarray:
    """The matrix with negative eigenvalues lifted, rescaled to a unit diagonal (a valid correlation)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    fixed = vectors @ np.diag(np.clip(values, 1e-6, None)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)
