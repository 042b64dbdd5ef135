"""Differentially private synthetic data from noisy marginals, after MST (McKenna, Miklau and Sheldon,
"Winning the NIST Contest: A scalable and general approach to differentially private synthetic data", 2021).

1. Every modelled column is discretised: categories (rare ones folded) and, where the column has any,
   "missing" are codes; numbers and dates fall into equal-width bins over their range, as many as
   the noise lets their counts be told apart (from a row count measured with 2 % of the budget); a
   number column with no more distinct values than that (0/1 flags, stages) gets one code per value.
2. All one-way marginals are measured with Gaussian noise and projected onto the counts they can be
   (non-negative, one shared total) — half the budget (every column's own distribution rests on them).
3. Compression, as in MST: each column's codes are merged into coarser groups that the noisy one-way
   marginal says hold enough rows to be measured two at a time above the noise (neighbouring bins for
   numbers, rare levels together for categories).
4. A maximum spanning tree of two-way marginals of the groups is chosen with the exponential mechanism,
   each edge scored by how badly the independent model explains that pair (5 % of the budget).
5. The chosen two-way marginals are measured with Gaussian noise (the last 43 %).
6. Estimation: MST fits a graphical model to the noisy measurements with Private-PGM (`mbi`); its
   releases on PyPI (1.x and 2.x) both require JAX, which this base install leaves out, so the tree
   is estimated directly: each noisy table is projected, then made consistent with its columns'
   one-way marginals by iterative proportional fitting; for a tree this gives the model to sample
   from, one column's group at a time from its parent's conditional, then the code within the group
   from the fine one-way marginal. All of it is post-processing of the noisy measurements, so the
   guarantee is unchanged.

Privacy accounting is zero-concentrated DP (ρ), converted from the owner's (ε, δ) with the bound of
Canonne, Kamath and Steinke (2020), as MST does. As in MST's reference implementation, the domain
(each column's categories, numeric range and whether it has missing values) is treated as public:
say so when you release.
"""

import math

import numpy as np
import pandas as pd

from workbench.synthesis.base import Generator, Plan, as_booleans, as_numbers, from_numbers

BINS = 32  # equal-width bins of a numeric column's one-way marginal
SHARES = {"total": 0.02, "one_way": 0.5, "select": 0.05, "two_way": 0.43}  # of ρ
BIN_FACTOR = 1.0  # bins ≈ (rows / σ)^(2/3): the noise a bin's count carries against the detail a bin loses
GROUP_SIGMAS = 3.0  # a group measured two at a time holds at least this many noise deviations of rows
MAX_GROUPS = 16
IPF_ROUNDS = 30


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
        self.rho = rho = cdp_rho(self.epsilon, self.delta)
        k = len(self.columns)
        # numbers get as many bins as the noise lets their counts be told apart (from a noisy row count)
        rows_noisy = max(1.0, len(frame) + rng.normal(0, math.sqrt(1 / (2 * rho * SHARES["total"]))))
        sigma_one = math.sqrt(max(k, 1) / (2 * rho * SHARES["one_way"]))
        bins = int(np.clip(round(BIN_FACTOR * (rows_noisy / sigma_one) ** (2 / 3)), 4, self.bins))
        self.domains = {name: _domain(frame[name], plan.kinds[name], bins) for name in self.columns}
        codes = {name: _encode(frame[name], self.domains[name]) for name in self.columns}
        sizes = {name: len(self.domains[name]["labels"]) for name in self.columns}
        self.one_way, self.groups, self.edges, self.two_way, self.sigmas = {}, {}, [], {}, {}
        self.rows_fitted = len(frame)
        if k == 0:
            return
        # 1. one-way marginals; the total is the mean of their noisy sums (each of variance size·σ²)
        noisy = {name: np.bincount(codes[name], minlength=sizes[name]) + rng.normal(0, sigma_one, sizes[name]) for name in self.columns}
        weights = {name: 1 / sizes[name] for name in self.columns}
        total = max(1.0, sum(noisy[name].sum() * weights[name] for name in self.columns) / sum(weights.values()))
        counts = {name: _project(noisy[name], total) for name in self.columns}
        self.one_way = {name: counts[name] / total for name in self.columns}
        self.total = total
        # 2. groups for the two-way measurements, from the noisy one-ways only
        edges_wanted = k - 1
        sigma_two = math.sqrt(max(edges_wanted, 1) / (2 * rho * SHARES["two_way"]))
        self.groups = {name: _group(counts[name], self.domains[name], GROUP_SIGMAS * sigma_two) for name in self.columns}
        grouped = {name: np.asarray(self.groups[name])[codes[name]] for name in self.columns}
        group_sizes = {name: max(self.groups[name]) + 1 for name in self.columns}
        group_marginal = {
            name: np.bincount(self.groups[name], weights=self.one_way[name], minlength=group_sizes[name]) for name in self.columns
        }
        self.sigmas = {"one_way": sigma_one}
        if k == 1:
            return
        # 3. the tree, 4. its two-way marginals
        self.edges = _select_tree(grouped, group_sizes, group_marginal, total, rho * SHARES["select"], rng)
        sigma_two = math.sqrt(len(self.edges) / (2 * rho * SHARES["two_way"]))
        self.sigmas["two_way"] = sigma_two
        for a, b in self.edges:
            table = np.zeros((group_sizes[a], group_sizes[b]))
            np.add.at(table, (grouped[a], grouped[b]), 1)
            measured = _project((table + rng.normal(0, sigma_two, table.shape)).ravel(), total).reshape(table.shape)
            self.two_way[f"{a}\x1f{b}"] = _ipf(measured, group_marginal[a], group_marginal[b])

    def sample(self, rows: int, *, seed: int = 0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        groups_drawn: dict[str, np.ndarray] = {}
        neighbours: dict[str, list[tuple[str, np.ndarray]]] = {name: [] for name in self.columns}
        for key, table in self.two_way.items():
            a, b = key.split("\x1f")
            table = np.asarray(table)
            neighbours[a].append((b, table))
            neighbours[b].append((a, table.T))
        group_of = {name: np.asarray(self.groups[name]) for name in self.columns}
        one_way = {name: np.asarray(self.one_way[name]) for name in self.columns}
        for root in self.columns:
            if root in groups_drawn:
                continue
            marginal = np.bincount(group_of[root], weights=one_way[root], minlength=group_of[root].max() + 1)
            groups_drawn[root] = _draw(np.broadcast_to(marginal, (1, len(marginal))), np.zeros(rows, dtype=int), rng)
            queue = [root]
            while queue:  # breadth first through this tree of the forest
                parent = queue.pop(0)
                for child, table in neighbours[parent]:
                    if child not in groups_drawn:
                        groups_drawn[child] = _draw(table, groups_drawn[parent], rng)
                        queue.append(child)
        out = {}
        for name in self.columns:  # the code within each drawn group, by the fine one-way marginal
            within = np.zeros((group_of[name].max() + 1, len(one_way[name])))
            within[group_of[name], np.arange(len(one_way[name]))] = one_way[name] + 1e-12
            out[name] = _decode(_draw(within, groups_drawn[name], rng), self.domains[name], rng)
        return self.plan.complete(pd.DataFrame(out, index=pd.RangeIndex(rows)), rows, rng)

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "domains": self.domains,
            "one_way": {k: np.asarray(v).tolist() for k, v in self.one_way.items()},
            "groups": self.groups,
            "edges": self.edges,
            "two_way": {k: np.asarray(v).tolist() for k, v in self.two_way.items()},
            "plan": self.plan.to_json(),
        }


def _draw(table: np.ndarray, given: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each row, a column index drawn in proportion to `table[given]`."""
    conditional = table / np.maximum(table.sum(axis=1, keepdims=True), 1e-300)
    cumulative = np.cumsum(conditional, axis=1)
    draws = rng.uniform(size=len(given))[:, None]
    return np.minimum((draws > cumulative[given]).sum(axis=1), table.shape[1] - 1)


def _project(values: np.ndarray, total: float) -> np.ndarray:
    """The closest non-negative vector summing to `total` (Euclidean projection onto the scaled simplex):
    noise on empty cells is cut off instead of clipped, which would add mass that is not there."""
    ordered = np.sort(values)[::-1]
    cumulative = np.cumsum(ordered) - total
    index = np.arange(1, len(values) + 1)
    last = np.nonzero(ordered - cumulative / index > 0)[0][-1]
    return np.maximum(values - cumulative[last] / (last + 1), 0)


def _group(counts: np.ndarray, domain: dict, threshold: float) -> list[int]:
    """Each code's group. Numbers: neighbouring bins merged until a group holds `threshold` noisy rows (at
    most MAX_GROUPS groups); categories: levels under the threshold merged into one group. The missing
    code keeps a group of its own."""
    missing = domain["missing"]
    body = counts[:-1] if missing else counts
    if "edges" in domain:
        threshold = max(threshold, body.sum() / MAX_GROUPS)
        groups, current, held = [], 0, 0.0
        for count in body:
            if held >= threshold:
                current, held = current + 1, 0.0
            groups.append(current)
            held += count
        if held < threshold and current > 0:  # a thin last group joins the one before
            groups = [min(g, current - 1) for g in groups]
    else:
        order = np.argsort(-body)
        big = [i for i in order if body[i] >= threshold][: MAX_GROUPS - 1]
        rank = {code: position for position, code in enumerate(big)}
        rare = len(big)
        groups = [rank.get(i, rare) for i in range(len(body))]
        used = sorted(set(groups))
        groups = [used.index(g) for g in groups]
    if missing:
        groups.append(max(groups) + 1)
    return [int(g) for g in groups]


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
    missing = bool(values.isna().any())
    if kind in ("int", "float", "date", "datetime"):
        from workbench.synthesis.copula import _decimals

        numbers = as_numbers(values, kind)
        present = numbers[~np.isnan(numbers)]
        low, high = (float(present.min()), float(present.max())) if len(present) else (0.0, 1.0)
        distinct = np.unique(present)
        exact = kind != "int" and 1 < len(distinct) <= bins  # a few values (0/0.5/1, stages): one code each, kept exactly
        if exact:
            edges = [*distinct.tolist(), float(distinct[-1]) + 1.0]
        elif kind == "int":
            width = max(1.0, math.ceil((high - low + 1) / bins))
            edges = list(np.arange(low, high + width + 1, width))
        else:
            edges = list(np.linspace(low, high, bins + 1)) if high > low else [low, low + 1]
        labels = [f"bin{i}" for i in range(len(edges) - 1)] + (["missing"] if missing else [])
        return {
            "missing": missing,
            "kind": kind,
            "exact": exact,
            "edges": [float(e) for e in edges],
            "low": low,
            "high": high,
            "labels": labels,
            "decimals": _decimals(present) if kind == "float" else 0,
        }
    levels = sorted(values.dropna().astype(str).unique().tolist())
    return {"kind": kind, "levels": levels, "labels": [*levels, "missing"] if missing else levels, "missing": missing}


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
        numbers = low if domain.get("exact") else low + rng.uniform(size=len(codes)) * (high - low)
        numbers = np.clip(np.floor(numbers) if kind == "int" else numbers, domain["low"], domain["high"])
        return from_numbers(numbers, kind, domain["decimals"]).mask(missing)
    levels = np.asarray([*domain["levels"], None], dtype=object)
    values = pd.Series(levels[codes], dtype="object")
    if kind == "bool":
        values = as_booleans(values)
    return values
