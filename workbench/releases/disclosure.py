"""Disclosure control of one cell the checker computed on the real data, and of a regression's fit.

These are the *primary* rules: whether a statistic of one group may be shown at all. Whether it may be shown beside
everything released before is the ledger's audit (audit.py). The rules follow the field's output checkers:

- ACRO (AI-SDC/ACRO, `sdcchecks.py`): threshold (a group below `threshold` people is disclosive), zeros disclosive,
  the N,K dominance rule (the largest N contributions are at least K of the total), the p-ratio rule ((total − top
  two) / largest < p), all values the same (class disclosure), residual degrees of freedom of a regression below
  `min_dof`. Beyond ACRO's defaults, the (1, 50 %) dominance rule (`max_share`): with N,K at (2, 90 %) and p at
  10 %, a group of 19 in which one person holds 74 % of the total passes, and the total less 18 people at the mean
  gives that person's value within 5 %; no one contribution may pass half the total. Dominance applies to every magnitude statistic (sum, mean, median, std, var) and to the absolute values
  (a negative outlier dominates as much as a positive one); a variance is also checked on its squared deviations,
  where one outlier shows most.
- OpenSAFELY's output checking: counts rounded to a multiple of `rounding_base`, small counts redacted.
- A distinct count of 1 says every member shares a value: treated as all-same. Minimum and maximum are one person's
  value: withheld unless the policy allows them. A regression is refused when one observation's leverage passes
  `max_leverage` (the fit passes through it) or when a few-valued predictor has a value held by fewer than `threshold`.

Magnitudes are rounded to `digits` significant figures, and a sum is released as its (exact) mean times its *rounded*
count: the sum divided by the mean then gives the rounded count, never the exact group size.
"""

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

RELEASED, SUPPRESSED, WITHHELD = "released", "suppressed", "withheld"
FEW_VALUES = 10  # a predictor with at most this many distinct values is checked value by value


@dataclass(frozen=True)
class Rules:
    """The dataset policy's disclosure rules (defaults: ACRO's risk appetite, OpenSAFELY's rounding to 5)."""

    threshold: int = 10
    rounding_base: int = 5
    zeros_disclosive: bool = True
    nk_n: int = 2
    nk_k: float = 0.9
    p_ratio: float = 0.1
    max_share: float = 0.5
    min_dof: int = 10
    allow_extremes: bool = False
    digits: int = 4
    max_leverage: float = 0.5

    @classmethod
    def from_policy(cls, policy: dict) -> "Rules":
        given = policy.get("disclosure") or {}
        known = {f.name: f.type for f in fields(cls)}
        return cls(**{name: _typed(value, known[name]) for name, value in given.items() if name in known})

    def as_json(self) -> dict:
        return asdict(self)


def _typed(value, kind):
    kind = {"int": int, "float": float, "bool": bool}.get(kind, kind) if isinstance(kind, str) else kind
    return bool(value) if kind is bool else kind(value)


def validate_rules(given: dict) -> list[str]:
    """Problems with a policy's disclosure rules, in words (empty when they are usable)."""
    problems = []
    bounds = {"threshold": (1, 1000), "rounding_base": (1, 1000), "nk_n": (1, 10), "min_dof": (1, 10_000), "digits": (2, 8)}
    for name, (low, high) in bounds.items():
        value = given.get(name, getattr(Rules, name))
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append(f"{name} must be a whole number from {low} to {high}.")
    for name in ("nk_k", "p_ratio", "max_leverage"):
        value = given.get(name, getattr(Rules, name))
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1:
            problems.append(f"{name} must be a number between 0 and 1.")
    for name in ("max_share",):
        value = given.get(name, getattr(Rules, name))
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 1:
            problems.append(f"{name} must be a number above 0 and at most 1 (1 turns the rule off).")
    unknown = set(given) - {f.name for f in fields(Rules)}
    if unknown:
        problems.append(f"Unknown disclosure rule(s): {', '.join(sorted(unknown))}.")
    return problems


# --- cells ---------------------------------------------------------------------------------------------------------


def cell(value=None, status=WITHHELD, reason="", statistic="", n=None, exact=None) -> dict:
    """One checked cell: the value shown (None unless released), its status and reason, the statistic, the group's
    size and, for owners, the exact value before rounding or noise."""
    return {"value": value, "status": status, "reason": reason, "statistic": statistic, "n": n, "exact": exact}


def rounded(count: int, base: int) -> int:
    return int(base * math.floor(count / base + 0.5)) if base > 1 else int(count)


def significant(value: float, digits: int) -> float:
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits}g}")


def check_count(n: int, rules: Rules, *, statistic: str = "count") -> dict:
    if n == 0 and rules.zeros_disclosive:
        return cell(None, SUPPRESSED, "a zero count can disclose that nobody in the group has this value", statistic, n)
    if 0 < n < rules.threshold:
        return cell(None, SUPPRESSED, f"count below the threshold of {rules.threshold}", statistic, n)
    return cell(
        rounded(n, rules.rounding_base),
        RELEASED,
        f"rounded to the nearest {rules.rounding_base}" if rules.rounding_base > 1 else "",
        statistic,
        n,
        n,
    )


def dominance(values: np.ndarray, rules: Rules) -> str:
    """Why a magnitude over `values` is dominated by a few contributors (ACRO's N,K and p-ratio rules, on absolute
    values); '' when it is not."""
    contributions = np.sort(np.abs(np.asarray(values, dtype=np.float64)))[::-1]
    total = float(contributions.sum())
    if total == 0 or not math.isfinite(total):
        return "" if total == 0 else "the values are too large to check"
    top_n = float(contributions[: rules.nk_n].sum())
    if top_n / total >= rules.nk_k:
        return f"the largest {rules.nk_n} contribution(s) make up {top_n / total:.0%} of the total (N,K rule: {rules.nk_k:.0%})"
    largest = float(contributions[0])
    if largest > 0 and (total - float(contributions[:2].sum())) / largest < rules.p_ratio:
        return f"the rest after the largest two is under {rules.p_ratio:.0%} of the largest (p-ratio rule)"
    if rules.max_share < 1 and largest / total > rules.max_share:
        return f"one contribution is {largest / total:.0%} of the total, over {rules.max_share:.0%} (single-contributor rule)"
    return ""


def check_statistic(statistic: str, values: np.ndarray, rules: Rules, *, rounded_count: int | None = None) -> dict:
    """A magnitude statistic (or a distinct count) of a group's present values, checked and rounded."""
    values = np.asarray(values, dtype=np.float64) if statistic != "distinct" else values
    n = int(len(values))
    if statistic in ("min", "max") and not rules.allow_extremes:
        return cell(None, WITHHELD, "a minimum or maximum is one person's value", statistic, n)
    if n < rules.threshold:
        return cell(None, SUPPRESSED, f"computed over {n} people, below the threshold of {rules.threshold}", statistic, n)
    if statistic == "distinct":
        distinct = int(len(set(values)))
        if distinct <= 1:
            return cell(None, SUPPRESSED, "every person in the group has the same value (class disclosure)", statistic, n)
        if distinct < rules.threshold:
            return cell(distinct, RELEASED, "", statistic, n, distinct)
        # rounded as counts are: the distinct values of an identifier are the group's size
        return cell(
            rounded(distinct, rules.rounding_base), RELEASED, f"rounded to the nearest {rules.rounding_base}", statistic, n, distinct
        )
    if not np.all(np.isfinite(values)):
        return cell(None, WITHHELD, "some values are not finite numbers", statistic, n)
    if np.all(values == values[0]):
        return cell(None, SUPPRESSED, "every person in the group has the same value (class disclosure)", statistic, n)
    dominated = dominance(values, rules)
    if not dominated and statistic in ("std", "var"):
        dominated = dominance((values - values.mean()) ** 2, rules)
        dominated = f"in its squared deviations, {dominated}" if dominated else ""
    if dominated:
        return cell(None, SUPPRESSED, dominated, statistic, n)
    value = statistic_of(statistic, values)
    if not math.isfinite(value):
        return cell(None, WITHHELD, "not a finite number", statistic, n)
    if statistic == "sum":
        shown = float(values.mean()) * (rounded_count if rounded_count is not None else rounded(n, rules.rounding_base))
        reason = f"the mean times the count rounded to {rules.rounding_base}"
        return cell(significant(shown, rules.digits), RELEASED, reason, statistic, n, value)
    digits = rules.digits - 1 if statistic in ("std", "var") else rules.digits
    return cell(significant(value, digits), RELEASED, "", statistic, n, value)


def statistic_of(statistic: str, values: np.ndarray) -> float:
    if statistic == "mean":
        return float(values.mean())
    if statistic == "median":
        return float(np.median(values))
    if statistic == "std":
        return float(values.std(ddof=1))
    if statistic == "var":
        return float(values.var(ddof=1))
    if statistic == "min":
        return float(values.min())
    if statistic == "max":
        return float(values.max())
    return float(values.sum())


# --- regressions ---------------------------------------------------------------------------------------------------


def regression_problems(design: np.ndarray, target: np.ndarray, few_valued: dict[str, np.ndarray], rules: Rules) -> list[str]:
    """Why a linear fit of `target` on `design` (intercept first) is not released: too few observations or residual
    degrees of freedom, a target everyone shares (class disclosure) or that a few dominate, a predictor value held by
    too few, one observation the fit passes through."""
    n, p = design.shape
    if n < rules.threshold:
        return [f"fitted on {n} people, below the threshold of {rules.threshold}"]
    problems = []
    if np.all(target == target[0]):
        problems.append("every person fitted has the same value of the target (class disclosure)")
    dominated = dominance(target, rules)
    if dominated:
        problems.append(f"the target: {dominated}")
    if n - p < rules.min_dof:
        problems.append(f"residual degrees of freedom {n - p} below {rules.min_dof}")
    for name, column in few_valued.items():
        _, counts = np.unique(column, return_counts=True)
        if len(counts) and int(counts.min()) < rules.threshold:
            problems.append(
                f"a value of '{name}' is held by {int(counts.min())} of the people fitted, below the threshold of {rules.threshold}"
            )
    if np.linalg.matrix_rank(design) < p:
        problems.append("the predictors are collinear (one is a combination of others)")
        return problems
    leverage = _leverage(design)
    if leverage > rules.max_leverage:
        problems.append(f"one observation has leverage {leverage:.2f} (the fit passes close to it), above {rules.max_leverage}")
    # each coefficient is a weighted sum of the target's values: no one person's term may dominate it
    weights = np.linalg.pinv(design)
    for row in weights:
        dominated = dominance(row * target, rules)
        if dominated:
            problems.append(f"a coefficient: {dominated}")
            break
    return problems


def _leverage(design: np.ndarray) -> float:
    q, _ = np.linalg.qr(design)
    return float(np.max(np.sum(q * q, axis=1)))


# --- what the analyst sees -------------------------------------------------------------------------------------------

NOT_RELEASED = "not released"


def released_view(checked: dict) -> dict:
    """What the analyst sees of a released output: the checker's labels and headers, the released values, and one
    mark, "not released", for every other cell whatever held it back (a reason or a status could tell a value)."""
    k = checked.get("index_columns", 0)
    rows = [row[:k] + [c["value"] if c["status"] == RELEASED else None for c in row[k:]] for row in checked["rows"]]
    return {
        "kind": checked["kind"],
        "description": checked.get("description", ""),
        "columns": list(checked["columns"]),
        "index_columns": k,
        "rows": rows,
        "marks": [["" if c["status"] == RELEASED else NOT_RELEASED for c in row[k:]] for row in checked["rows"]],
        "notes": list(checked.get("notes", [])),
        "noise": checked.get("noise"),
    }


def _plain_text(text: str) -> str:
    """A label plotly draws as text: it reads <a href>, <b> and entities in labels, so the brackets and ampersand a
    declared value may hold are swapped for look-alikes that it does not."""
    return text.replace("&", "＆").replace("<", "‹").replace(">", "›")[:200]


def chart_of(view: dict) -> dict | None:
    """A bar chart of the released values only, with the checker's labels and headers (no text the data chose)."""
    if view["kind"] not in ("table", "regression") or not view["rows"]:
        return None
    k = view.get("index_columns", 0)
    labels = [_plain_text(" · ".join(str(v) for v in row[:k]) or "all") for row in view["rows"]]
    traces = []
    for position, column in enumerate(view["columns"][k:], start=k):
        values = [row[position] for row in view["rows"]]
        if any(v is not None for v in values):
            traces.append({"type": "bar", "name": _plain_text(str(column)), "x": labels, "y": values})
    if not traces:
        return None
    return {
        "data": traces,
        "layout": {"barmode": "group", "margin": {"t": 30}, "title": {"text": "Released values (cells not released are left out)"}},
    }
