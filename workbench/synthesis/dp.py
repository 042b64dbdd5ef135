"""Differentially private synthetic data from noisy marginals, after MST (McKenna, Miklau and Sheldon,
"Winning the NIST Contest: A scalable and general approach to differentially private synthetic data", 2021).

1. Every modelled column is discretised: categories (rare ones folded) and "missing" are codes; numbers
   and dates fall into equal-width bins over their range.
2. All one-way marginals are measured with Gaussian noise (a third of the budget).
3. A maximum spanning tree of two-way marginals is chosen with the exponential mechanism, each edge
   scored by how badly the independent model (the noisy one-way marginals) explains that pair
   (a third of the budget).
4. The chosen two-way marginals are measured with Gaussian noise (the last third).
5. Estimation: MST fits a graphical model to the noisy measurements with Private-PGM (`mbi`); its
   releases on PyPI (1.x and 2.x) both require JAX, which this base install leaves out, so the tree
   is estimated directly: each noisy table is clipped, normalised and made consistent with its
   columns' one-way marginals by iterative proportional fitting; for a tree this gives the model to
   sample from, one column at a time from its parent's conditional. This is post-processing of the
   noisy measurements, so the guarantee is unchanged.

Privacy accounting is zero-concentrated DP (ρ), converted from the owner's (ε, δ) with the bound of
Canonne, Kamath and Steinke (2020), as MST does. As in MST's reference implementation, the domain
(each column's categories and numeric range) is treated as public: say so when you release.
"""

import math

import numpy as np
import pandas as pd

from workbench.synthesis.base import Generator, Plan, as_booleans, as_numbers, from_numbers

BINS = 16
IPF_ROUNDS = 20


def cdp_delta(rho: float, eps: float) -> float:
    """δ of a ρ-zCDP mechanism at ε (Canonne, Kamath, Steinke 2020, Proposition 7)."""
    if rho == 0:
        return 0.0
    amin, amax = 1.01, (eps + 1) / (2 * rho) + 2
    for _ in range(1000):
        alpha = (amin + amax) / 2
        derivative = (2 * alpha - 1) * rho - eps + math.log1p(-1.0 / alpha)
        if derivative < 0:
            amin = alpha
        else:
            amax = alpha
    delta = math.exp((alpha - 1) * (alpha * rho - eps) + alpha * math.log1p(-1 / alpha)) / (alpha - 1.0)
    return min(delta, 1.0)


def cdp_rho(eps: float, delta: float) -> float:
    """The largest ρ whose ρ-zCDP implies (ε, δ)-DP."""
    if delta >= 1:
        return 0.0
    rhomin, rhomax = 0.0, eps + 1
    for _ in range(1000):
        rho = (rhomin + rhomax) / 2
        if cdp_delta(rho, eps) <= delta:
            rhomin = rho
        else:
            rhomax = rho
    return rhomin


class DPMarginals(Generator):
    method = "dp"

    def __init__(self, epsilon: float = 1.0, delta: float = 1e-6, bins: int = BINS):
        if not epsilon > 0:
            raise ValueError("epsilon must be positive")
        if not 0 < delta < 1:
            raise ValueError("delta must be between 0 and 1")
        self.epsilon, self.delta, self.bins = float(epsilon), float(delta), int(bins)

    def fit(self, frame: pd.DataFrame, plan: Plan, *, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.plan = plan
        self.columns = list(plan.modelled)
        self.domains = {name: _domain(frame[name], plan.kinds[name], self.bins) for name in self.columns}
        codes = {name: _encode(frame[name], self.domains[name]) for name in self.columns}
        sizes = {name: len(self.domains[name]["labels"]) for name in self.columns}
        rho = cdp_rho(self.epsilon, self.delta)
        k = len(self.columns)
        self.rho = rho
        if k == 0:
            self.one_way, self.edges, self.two_way = {}, [], {}
            return
        sigma_one = math.sqrt(k / (2 * (rho / 3)))
        self.one_way = {}
        for name in self.columns:
            counts = np.bincount(codes[name], minlength=sizes[name]).astype(float)
            self.one_way[name] = _simplex(counts + rng.normal(0, sigma_one, sizes[name]))
        self.edges = _select_tree(codes, sizes, self.one_way, len(frame), rho / 3, rng) if k > 1 else []
        self.two_way = {}
        if self.edges:
            sigma_two = math.sqrt(len(self.edges) / (2 * (rho / 3)))
            for a, b in self.edges:
                table = np.zeros((sizes[a], sizes[b]))
                np.add.at(table, (codes[a], codes[b]), 1)
                noisy = np.clip(table + rng.normal(0, sigma_two, table.shape), 0, None)
                self.two_way[f"{a}\x1f{b}"] = _ipf(noisy, self.one_way[a], self.one_way[b])
        self.sigmas = {"one_way": sigma_one, "two_way": math.sqrt(len(self.edges) / (2 * (rho / 3))) if self.edges else None}
        self.rows_fitted = len(frame)

    def sample(self, rows: int, *, seed: int = 0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        codes: dict[str, np.ndarray] = {}
        neighbours: dict[str, list[tuple[str, np.ndarray]]] = {name: [] for name in self.columns}
        for key, table in self.two_way.items():
            a, b = key.split("\x1f")
            table = np.asarray(table)
            neighbours[a].append((b, table))
            neighbours[b].append((a, table.T))
        for root in self.columns:
            if root in codes:
                continue
            codes[root] = rng.choice(len(self.one_way[root]), size=rows, p=np.asarray(self.one_way[root]))
            queue = [root]
            while queue:  # breadth first through this tree of the forest
                parent = queue.pop(0)
                for child, table in neighbours[parent]:
                    if child in codes:
                        continue
                    conditional = table / np.maximum(table.sum(axis=1, keepdims=True), 1e-12)
                    empty = conditional.sum(axis=1) == 0
                    conditional[empty] = np.asarray(self.one_way[child])
                    cumulative = np.cumsum(conditional, axis=1)
                    draws = rng.uniform(size=rows)[:, None]
                    codes[child] = np.minimum((draws > cumulative[codes[parent]]).sum(axis=1), table.shape[1] - 1)
                    queue.append(child)
        out = {name: _decode(codes[name], self.domains[name], rng) for name in self.columns}
        return self.plan.complete(pd.DataFrame(out, index=pd.RangeIndex(rows)), rows, rng)

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "domains": self.domains,
            "one_way": {k: np.asarray(v).tolist() for k, v in self.one_way.items()},
            "edges": self.edges,
            "two_way": {k: np.asarray(v).tolist() for k, v in self.two_way.items()},
            "plan": self.plan.to_json(),
        }


def _simplex(values: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, 0, None)
    total = clipped.sum()
    return clipped / total if total > 0 else np.full(len(values), 1 / len(values))


def _ipf(table: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The noisy table rescaled until its margins are the (noisy, normalised) one-way marginals."""
    table = table + 1e-9
    table = table / table.sum()
    for _ in range(IPF_ROUNDS):
        table *= (rows / np.maximum(table.sum(axis=1), 1e-12))[:, None]
        table *= (columns / np.maximum(table.sum(axis=0), 1e-12))[None, :]
    return table


def _select_tree(codes, sizes, one_way, n, rho, rng) -> list[tuple[str, str]]:
    """Kruskal's algorithm where each next edge is drawn by the exponential mechanism (MST's selection)."""
    names = list(codes)
    candidates = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    scores = {}
    for a, b in candidates:
        table = np.zeros((sizes[a], sizes[b]))
        np.add.at(table, (codes[a], codes[b]), 1)
        scores[(a, b)] = np.abs(table - n * np.outer(one_way[a], one_way[b])).sum()
    steps = len(names) - 1
    epsilon = math.sqrt(8 * rho / steps)  # the exponential mechanism is ε²/8-zCDP
    parent = {name: name for name in names}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    chosen = []
    for _ in range(steps):
        open_edges = [edge for edge in candidates if root(edge[0]) != root(edge[1])]
        if not open_edges:
            break
        q = np.array([scores[edge] for edge in open_edges])
        logits = epsilon / 2 * (q - q.max())  # L1 scores have sensitivity 1
        weights = np.exp(logits)
        edge = open_edges[rng.choice(len(open_edges), p=weights / weights.sum())]
        chosen.append(edge)
        parent[root(edge[0])] = root(edge[1])
    return chosen


def _domain(values: pd.Series, kind: str, bins: int) -> dict:
    if kind in ("int", "float", "date", "datetime"):
        from workbench.synthesis.copula import _decimals

        numbers = as_numbers(values, kind)
        present = numbers[~np.isnan(numbers)]
        low, high = (float(present.min()), float(present.max())) if len(present) else (0.0, 1.0)
        if kind == "int":
            width = max(1.0, math.ceil((high - low + 1) / bins))
            edges = list(np.arange(low, high + width + 1, width))
        else:
            edges = list(np.linspace(low, high, bins + 1)) if high > low else [low, low + 1]
        labels = [f"bin{i}" for i in range(len(edges) - 1)] + ["missing"]
        return {
            "kind": kind,
            "edges": [float(e) for e in edges],
            "low": low,
            "high": high,
            "labels": labels,
            "decimals": _decimals(present) if kind == "float" else 0,
        }
    levels = sorted(values.dropna().astype(str).unique().tolist())
    return {"kind": kind, "levels": levels, "labels": [*levels, "missing"]}


def _encode(values: pd.Series, domain: dict) -> np.ndarray:
    if "edges" in domain:
        numbers = as_numbers(values, domain["kind"])
        edges = np.asarray(domain["edges"])
        index = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, len(edges) - 2)
        index[np.isnan(numbers)] = len(edges) - 1  # the "missing" code
        return index.astype(int)
    position = {level: i for i, level in enumerate(domain["levels"])}
    return values.astype("string").map(position).fillna(len(domain["levels"])).astype(int).to_numpy()


def _decode(codes: np.ndarray, domain: dict, rng: np.random.Generator) -> pd.Series:
    kind = domain["kind"]
    if "edges" in domain:
        edges = np.asarray(domain["edges"])
        missing = codes == len(edges) - 1
        safe = np.minimum(codes, len(edges) - 2)
        low, high = edges[safe], edges[safe + 1]
        numbers = low + rng.uniform(size=len(codes)) * (high - low)
        numbers = np.clip(np.floor(numbers) if kind == "int" else numbers, domain["low"], domain["high"])
        return from_numbers(numbers, kind, domain["decimals"]).mask(missing)
    levels = np.asarray([*domain["levels"], None], dtype=object)
    values = pd.Series(levels[codes], dtype="object")
    if kind == "bool":
        values = as_booleans(values)
    return values
