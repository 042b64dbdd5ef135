"""Automatic disclosure control of what code computed on RAW data, before any person sees it.

The code that ran is hostile (a model wrote it), so nothing it says about its output is believed. Its result only
proposes a *shape*: rows named by values of the table's columns (a group-by, a crosstab, value counts, bands made
with pd.cut) and columns that name a statistic. For every cell this module finds the rows of the real table that
the cell's labels name, recomputes a statistic over those rows that gives the cell's value (a count, a share, a
mean, a median, a sum, ...), and releases *its own* value, checked by the rules below. A cell whose value it cannot
reproduce is withheld, and so is anything that is not such a table (row-level data, printed text, figures).

The rules follow the field's output checkers:
- ACRO (AI-SDC/ACRO, `sdcchecks.py`): threshold (a cell count below `threshold` is disclosive), zeros disclosive,
  the N,K dominance rule (the largest N contributions are at least K of the total), the p-ratio rule
  ((total - top two) / largest < p), all values the same (class disclosure), residual degrees of freedom of a
  regression below `min_dof`; dominance is not defined with negative contributions, so such cells are withheld.
- OpenSAFELY's output checking: counts are rounded (here to the nearest multiple of `rounding_base`), small counts
  redacted, and a redacted cell that the row or column total would give back is redacted too (secondary
  suppression).
Minimum and maximum are one person's value: withheld unless the policy allows them.
"""

import math
import re
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

RELEASED, SUPPRESSED, WITHHELD = "released", "suppressed", "withheld"
_INTERVAL = re.compile(r"^\s*([\(\[])\s*(-?[\d.eE+\-]+|-?inf)\s*,\s*(-?[\d.eE+\-]+|inf)\s*([\)\]])\s*$")
_COUNT_LABELS = {"count", "size", "n", "0", "counts", "frequency", "freq", "number", "total", "records", "rows"}
_SHARE_LABELS = {"proportion", "share", "percent", "percentage", "pct", "fraction", "rate", "ratio", "%"}


@dataclass(frozen=True)
class Rules:
    """The dataset policy's disclosure rules (defaults: ACRO's risk appetite, OpenSAFELY's rounding to 5)."""

    threshold: int = 10
    rounding_base: int = 5
    zeros_disclosive: bool = True
    nk_n: int = 2
    nk_k: float = 0.9
    p_ratio: float = 0.1
    min_dof: int = 10
    allow_extremes: bool = False

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
    bounds = {"threshold": (1, 1000), "rounding_base": (1, 1000), "nk_n": (1, 10), "min_dof": (1, 10_000)}
    for name, (low, high) in bounds.items():
        value = given.get(name, getattr(Rules, name))
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append(f"{name} must be a whole number from {low} to {high}.")
    for name in ("nk_k", "p_ratio"):
        value = given.get(name, getattr(Rules, name))
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1:
            problems.append(f"{name} must be a number between 0 and 1.")
    unknown = set(given) - {f.name for f in fields(Rules)}
    if unknown:
        problems.append(f"Unknown disclosure rule(s): {', '.join(sorted(unknown))}.")
    return problems


def describe(value) -> dict:
    """A pandas result described as the sandbox's child describes it (`workbench/analysis/_child.py:describe`, which
    cannot import this module from inside the box), for checking results computed outside a box: tests, benchmarks."""
    import json

    if isinstance(value, pd.Series):
        value = value.to_frame()
    flat = value.reset_index()
    return {
        "kind": "table",
        "columns": [str(c) for c in flat.columns],
        "rows": json.loads(flat.to_json(orient="values", date_format="iso", default_handler=str)),
        "total_rows": len(value),
        "index_columns": 0 if isinstance(value.index, pd.RangeIndex) and value.index.name is None else value.index.nlevels,
        "columns_name": None if value.columns.name is None else str(value.columns.name),
    }


# --- cells ---------------------------------------------------------------------------------------------------------


def rounded(count: int, base: int) -> int:
    return int(base * math.floor(count / base + 0.5)) if base > 1 else int(count)


def _cell(value=None, status=WITHHELD, reason="", statistic="", n=None) -> dict:
    return {"value": value, "status": status, "reason": reason, "statistic": statistic, "n": n}


def _decimals(value) -> int | None:
    """How many decimals a printed number shows (a rounded statistic matches within half its last digit); None for
    whole numbers, which match exactly (a statistic the code turned into a whole number is not taken as one)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or isinstance(value, int):
        return None
    text = repr(value)
    if "e" in text or "E" in text:
        return None
    return len(text.split(".")[1]) if "." in text else 0


def _close(cell, candidate, decimals: int | None) -> bool:
    if candidate is None or isinstance(cell, bool) or not isinstance(cell, int | float):
        return False
    if not math.isfinite(candidate):
        return False
    tolerance = max(1e-9, 1e-9 * abs(candidate))
    if decimals is not None and decimals < 12:
        tolerance = max(tolerance, 0.5 * 10 ** (-decimals) + 1e-12)
    return abs(cell - candidate) <= tolerance


def _number(text):
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text)
    try:
        return float(str(text))
    except ValueError:
        return None


def match_label(series: pd.Series, label) -> pd.Series | None:
    """The rows of `series` that a printed group label names (a value, a pd.cut interval, a date); None when the
    label cannot name any of them in a way this module understands."""
    if label is None:
        return series.isna()
    if pd.api.types.is_bool_dtype(series):
        text = str(label).lower()
        return series == (text in ("true", "1", "1.0")) if text in ("true", "false", "1", "0", "1.0", "0.0") else None
    if pd.api.types.is_numeric_dtype(series):
        interval = _INTERVAL.match(str(label))
        if interval:
            low, high = float(interval.group(2)), float(interval.group(3))
            left = series >= low if interval.group(1) == "[" else series > low
            right = series <= high if interval.group(4) == "]" else series < high
            return left & right
        number = _number(label)
        return (series == number) if number is not None else None
    if pd.api.types.is_datetime64_any_dtype(series):
        try:
            when = pd.Timestamp(label)
        except (ValueError, TypeError):
            return None
        if when.tzinfo is not None and series.dt.tz is None:
            when = when.tz_localize(None)
        return series == when
    return series.astype("string") == str(label)


def _stat_columns(label: str, frame: pd.DataFrame, exclude: set) -> list[str]:
    """The table's columns a statistic column's label names (the longest names first); every numeric column
    when it names none."""
    text = str(label)
    named = [c for c in frame.columns if c not in exclude and (text == str(c) or re.search(rf"(?<![\w]){re.escape(str(c))}(?![\w])", text))]
    if named:
        return sorted(named, key=lambda c: -len(str(c)))
    return [
        c
        for c in frame.columns
        if c not in exclude and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _label_kind(label: str) -> str:
    words = set(re.findall(r"[a-z%]+|\d+", str(label).lower()))
    if words & _SHARE_LABELS or "normalize" in str(label).lower():
        return "share"
    if words & _COUNT_LABELS:
        return "count"
    return ""


def _candidates(values: pd.Series, column: str) -> list[tuple[str, float]]:
    present = values.dropna()
    out = [(f"count of {column}", float(len(present)))]
    if len(present) and pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present):
        numeric = present.astype(float)
        out += [
            (f"mean of {column}", float(numeric.mean())),
            (f"median of {column}", float(numeric.median())),
            (f"sum of {column}", float(numeric.sum())),
            (f"std of {column}", float(numeric.std()) if len(numeric) > 1 else float("nan")),
            (f"var of {column}", float(numeric.var()) if len(numeric) > 1 else float("nan")),
            (f"min of {column}", float(numeric.min())),
            (f"max of {column}", float(numeric.max())),
        ]
    if len(present):
        out.append((f"distinct values of {column}", float(present.nunique())))
    if pd.api.types.is_bool_dtype(present) and len(present):
        out.append((f"share true of {column}", float(present.mean())))
    return out


def check_count(n: int, rules: Rules, *, statistic: str = "count") -> dict:
    if n == 0 and rules.zeros_disclosive:
        return _cell(None, SUPPRESSED, "a zero count can disclose that nobody in the group has this value", statistic, n)
    if 0 < n < rules.threshold:
        return _cell(None, SUPPRESSED, f"count below the threshold of {rules.threshold}", statistic, n)
    return _cell(
        rounded(n, rules.rounding_base),
        RELEASED,
        f"rounded to the nearest {rules.rounding_base}" if rules.rounding_base > 1 else "",
        statistic,
        n,
    )


def dominance(values: pd.Series, rules: Rules) -> str:
    """Why a sum or mean over `values` is dominated by a few contributors (ACRO's N,K and p-ratio rules); '' when it
    is not."""
    values = values.dropna().astype(float)
    if (values < 0).any():
        return "dominance cannot be checked when some contributions are negative"
    total = float(values.sum())
    if total == 0:
        return ""
    ordered = values.sort_values(ascending=False)
    top_n = float(ordered.iloc[: rules.nk_n].sum())
    if top_n / total >= rules.nk_k:
        return f"the largest {rules.nk_n} contribution(s) make up {top_n / total:.0%} of the total (N,K rule: {rules.nk_k:.0%})"
    largest = float(ordered.iloc[0])
    if largest > 0 and (total - float(ordered.iloc[:2].sum())) / largest < rules.p_ratio:
        return f"the rest after the largest two is under {rules.p_ratio:.0%} of the largest (p-ratio rule)"
    return ""


def check_statistic(name: str, values: pd.Series, value: float, decimals: int | None, rules: Rules) -> dict:
    present = values.dropna()
    n = int(len(present))
    if name.startswith(("min of", "max of")) and not rules.allow_extremes:
        return _cell(None, WITHHELD, "a minimum or maximum is one person's value", name, n)
    if n < rules.threshold:
        return _cell(None, SUPPRESSED, f"computed over {n} people, below the threshold of {rules.threshold}", name, n)
    if n > 1 and present.nunique() == 1 and not name.startswith(("count of", "distinct values")):
        return _cell(None, SUPPRESSED, "every person in the group has the same value (class disclosure)", name, n)
    if name.startswith(("sum of", "mean of")):
        dominated = dominance(present, rules)
        if dominated:
            return _cell(None, SUPPRESSED, dominated, name, n)
    if name.startswith("count of"):
        return check_count(n, rules, statistic=name)
    shown = round(value, decimals) if decimals is not None else float(f"{value:.6g}")
    return _cell(shown, RELEASED, "", name, n)


# --- tables --------------------------------------------------------------------------------------------------------


CHECK_SECONDS = 120.0


class _Budget:
    """The check's time limit (a table built to make it slow must not hold the worker: cells left when it runs out
    are withheld) and the statistics already computed for a group, shared by the cells of one row."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.candidates: dict = {}

    @property
    def spent(self) -> bool:
        return time.monotonic() > self.deadline

    def of(self, mask: pd.Series, frame: pd.DataFrame, column) -> tuple[pd.Series, list]:
        key = (id(mask), column)
        if key not in self.candidates:
            values = frame.loc[mask, column]
            self.candidates[key] = (values, _candidates(values, str(column)))
        return self.candidates[key]


def check_result(result: dict | None, frame: pd.DataFrame, rules: Rules, *, seconds: float = CHECK_SECONDS) -> dict:
    """The checked form of a sandbox result computed on `frame` (the RAW table): every cell released, suppressed
    or withheld with its reason, and a summary that counts each."""
    budget = _Budget(seconds)
    if result is None:
        return _whole(WITHHELD, "the code produced no result")
    if result.get("kind") == "value":
        return _check_scalar(result.get("value"), frame, rules, budget)
    if result.get("kind") != "table":
        return _whole(WITHHELD, "only tables and single numbers are released; printed text and objects are not")
    return _check_table(result, frame, rules, budget)


def _whole(status: str, reason: str) -> dict:
    return _summarised({"kind": "none", "status": status, "reason": reason, "columns": [], "rows": []})


def _check_scalar(value, frame: pd.DataFrame, rules: Rules, budget: _Budget) -> dict:
    everyone = pd.Series(True, index=frame.index)
    cell = _check_cell(value, everyone, "", frame, rules, budget, exclude=set())
    return _summarised({"kind": "value", "columns": ["value"], "index_columns": 0, "rows": [[cell]]})


def _check_cell(value, mask: pd.Series, label, frame: pd.DataFrame, rules: Rules, budget: _Budget, *, exclude: set) -> dict:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return _cell(None, WITHHELD, "not a number: text in a cell could quote a record")
    if budget.spent:
        return _cell(None, WITHHELD, f"not checked: the check ran past its {CHECK_SECONDS:.0f} s")
    decimals = _decimals(value)
    n_rows = int(mask.sum())
    kind = _label_kind(label)
    if kind != "share" and _close(value, n_rows, decimals):
        return check_count(n_rows, rules)
    total = len(frame)
    if kind != "count" and total and (_close(value, n_rows / total, decimals) or _close(value, 100 * n_rows / total, decimals)):
        counted = check_count(n_rows, rules, statistic="share of all rows")
        if counted["status"] != RELEASED:
            return counted
        scale = 1 if _close(value, n_rows / total, decimals) else 100  # a share, or a percentage
        share = scale * counted["value"] / rounded(total, rules.rounding_base)
        return _cell(
            round(share, 4 if scale == 1 else 2),
            RELEASED,
            "from rounded counts",
            "share of all rows" + (" (%)" if scale == 100 else ""),
            n_rows,
        )
    for column in _stat_columns(label, frame, exclude):
        values, candidates = budget.of(mask, frame, column)
        for name, candidate in candidates:
            if kind == "count" and not name.startswith("count of"):
                continue  # a column that says it counts is matched with counts only
            if _close(value, candidate, decimals):
                return check_statistic(name, values, candidate, decimals, rules)
    return _cell(None, WITHHELD, "its value could not be reproduced from the rows its labels name")


def _row_mask(frame: pd.DataFrame, levels: list[str], labels: list) -> pd.Series | None:
    mask = pd.Series(True, index=frame.index)
    for level, label in zip(levels, labels, strict=True):
        if level not in frame.columns:
            return None
        matched = match_label(frame[level], label)
        if matched is None:
            return None
        mask &= matched.fillna(False).astype(bool)
    return mask


def _check_table(result: dict, frame: pd.DataFrame, rules: Rules, budget: _Budget) -> dict:
    columns = list(result.get("columns") or [])
    k = int(result.get("index_columns") or 0)
    levels, data_columns = columns[:k], columns[k:]
    rows = result.get("rows") or []
    if result.get("total_rows", len(rows)) > len(rows):
        return _whole(WITHHELD, f"the table was cut to {len(rows)} of {result['total_rows']} rows; only whole tables are checked")
    if k == 0 or not all(level in frame.columns for level in levels):
        regression = _check_regression(result, frame, rules)
        if regression is not None:
            return regression
        return _whole(WITHHELD, "its rows are not groups of the table's columns: row-level data is never released")
    axis = result.get("columns_name")
    axis = axis if axis in frame.columns else None
    edges = _data_edges(frame, levels, [row[:k] for row in rows]) or (
        _data_edges(frame, [axis], [[c] for c in data_columns]) if axis else ""
    )
    if edges:
        return _whole(WITHHELD, edges)
    checked_rows, row_masks = [], []
    for row in rows:
        labels, cells = row[:k], row[k:]
        mask = _row_mask(frame, levels, labels)
        if mask is None:
            checked_rows.append(labels + [_cell(None, WITHHELD, "its labels do not name rows of the table")] * len(cells))
            row_masks.append(None)
            continue
        row_masks.append(mask)
        checked = []
        for column, value in zip(data_columns, cells, strict=False):
            cell_mask, exclude = mask, set(levels)
            if axis is not None:
                matched = match_label(frame[axis], column)
                if matched is None:
                    checked.append(_cell(None, WITHHELD, "its column does not name a value of the table"))
                    continue
                cell_mask, exclude = mask & matched.fillna(False).astype(bool), exclude | {axis}
            checked.append(_check_cell(value, cell_mask, column if axis is None else "", frame, rules, budget, exclude=exclude))
        checked_rows.append(labels + checked)
    _secondary(checked_rows, k)
    _hide_small_labels(checked_rows, row_masks, k, rules)
    header = levels + [_hide_column_label(c, frame, axis, rules) for c in data_columns]
    return _summarised(
        {
            "kind": "table",
            "columns": header,
            "index_columns": k,
            "columns_name": axis,
            "rows": checked_rows,
            "table_columns": [str(c) for c in frame.columns],
        }
    )


def _data_edges(frame: pd.DataFrame, levels: list, labels: list[list]) -> str:
    """Why the band edges of a grouping come from the data ('' when they do not). `pd.cut(x, 5)` puts its edges at
    the minimum and maximum (less 0.1 % of the range) and evenly between them, so its labels give the extremes
    away, which are single people's values; edges the analyst chose (`pd.cut(x, [0, 40, 60, 100])`) do not."""
    for position, level in enumerate(levels):
        series = frame[level] if level in frame.columns else None
        if series is None or not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series) or series.dropna().empty:
            continue
        low, high = float(series.min()), float(series.max())
        near = max(abs(high - low) * 0.01, 1e-9)
        for row in labels:
            interval = _INTERVAL.match(str(row[position])) if position < len(row) else None
            if not interval:
                continue
            for text in (interval.group(2), interval.group(3)):
                edge = float(text)
                if not math.isfinite(edge):
                    continue
                if round(edge, 1) != edge:
                    return (
                        f"the band edge {edge:g} of '{level}' is not a round number: give the edges yourself (pd.cut(x, [0, 40, 60, 100]))"
                    )
                if 0 < abs(edge - low) < near or 0 < abs(edge - high) < near:
                    return f"a band edge of '{level}' lies at the data's minimum or maximum (one person's value): give the edges yourself"
    return ""


def _secondary(rows: list[list], k: int) -> None:
    """OpenSAFELY-style complementary suppression: where a row or column of counts has exactly one suppressed cell,
    its total would give it back, so the smallest released count beside it is suppressed too."""
    changed = True
    while changed:
        changed = False
        lines = [[(r, c) for c in range(k, len(row))] for r, row in enumerate(rows)]
        width = max((len(row) for row in rows), default=0)
        lines += [[(r, c) for r in range(len(rows)) if c < len(rows[r])] for c in range(k, width)]
        for line in lines:
            counts = [(r, c) for r, c in line if rows[r][c]["statistic"] == "count" and rows[r][c]["n"] is not None]
            hidden = [(r, c) for r, c in counts if rows[r][c]["status"] == SUPPRESSED]
            shown = [(r, c) for r, c in counts if rows[r][c]["status"] == RELEASED]
            if len(hidden) == 1 and shown:
                r, c = min(shown, key=lambda rc: rows[rc[0]][rc[1]]["n"])
                rows[r][c] = _cell(
                    None, SUPPRESSED, "secondary: with the total it would give back a suppressed cell", "count", rows[r][c]["n"]
                )
                changed = True


def _hide_small_labels(rows: list[list], masks: list, k: int, rules: Rules) -> None:
    """A group label is a value of the real table: shown only for a group of at least `threshold` people (a group-by
    on a name or an id would otherwise list them)."""
    for row, mask in zip(rows, masks, strict=True):
        if mask is None or int(mask.sum()) < rules.threshold:
            row[:k] = ["(small group)"] * k


def _hide_column_label(label, frame: pd.DataFrame, axis, rules: Rules):
    if axis is None:
        return label
    matched = match_label(frame[axis], label)
    if matched is None or int(matched.fillna(False).sum()) < rules.threshold:
        return "(small group)"
    return label


def _check_regression(result: dict, frame: pd.DataFrame, rules: Rules) -> dict | None:
    """A coefficient table (rows named by predictors, perhaps 'const' or 'Intercept') whose coefficients an ordinary
    least squares fit of one of the table's columns reproduces; released only with enough residual degrees of
    freedom (ACRO's MinimumDoFCheck). None when the result is not such a table."""
    rows = result.get("rows") or []
    columns = list(result.get("columns") or [])
    if not rows or len(columns) < 2:
        return None
    names = [str(row[0]) for row in rows]
    constant = [n for n in names if n.lower() in ("const", "intercept", "(intercept)")]
    predictors = [n for n in names if n not in constant]
    numeric = {str(c): c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])}
    if not predictors or not all(p in numeric for p in predictors):
        return None
    for position in range(1, len(columns)):
        coefficients = [row[position] for row in rows]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in coefficients):
            continue
        for target in numeric:
            if target in predictors:
                continue
            fitted = _ols(frame, numeric[target], [numeric[p] for p in predictors], bool(constant))
            if fitted is None:
                continue
            estimates, n = fitted
            order = {p: i + (1 if constant else 0) for i, p in enumerate(predictors)} | dict.fromkeys(constant, 0)
            if all(
                _close(v, estimates[order[name]], _decimals(v)) or _close(v, estimates[order[name]], 4)
                for name, v in zip(names, coefficients, strict=True)
            ):
                dof = n - len(estimates)
                statistic = f"OLS coefficient ({target} on {', '.join(predictors)})"
                singled = _singling_predictor(frame, numeric[target], [numeric[p] for p in predictors], rules)
                if singled:
                    cells = [[name, _cell(None, SUPPRESSED, singled, statistic, n)] for name in names]
                elif dof < rules.min_dof:
                    cells = [
                        [name, _cell(None, SUPPRESSED, f"residual degrees of freedom {dof} below {rules.min_dof}", statistic, n)]
                        for name in names
                    ]
                else:
                    cells = [
                        [name, _cell(float(f"{estimates[order[name]]:.6g}"), RELEASED, f"residual degrees of freedom {dof}", statistic, n)]
                        for name in names
                    ]
                return _summarised(
                    {
                        "kind": "regression",
                        "columns": [columns[0], "coefficient"],
                        "index_columns": 1,
                        "rows": cells,
                        "dof": dof,
                        "note": "only the coefficients are recomputed and released; other columns are withheld",
                    }
                )
    return None


def _singling_predictor(frame: pd.DataFrame, target, predictors: list, rules: Rules) -> str:
    """Why a predictor singles out a few people ('' when none does): the coefficient of an indicator that is 1 for
    one person is that person's residual, whatever the degrees of freedom."""
    data = frame[[target, *predictors]].dropna()
    for predictor in predictors:
        counts = data[predictor].value_counts()
        if len(counts) == 2 and int(counts.min()) < rules.threshold:
            few = int(counts.min())
            return f"the predictor '{predictor}' takes one of its two values for {few} {'person' if few == 1 else 'people'} only, below the threshold of {rules.threshold}"
    return ""


def _ols(frame: pd.DataFrame, target, predictors: list, constant: bool):
    data = frame[[target, *predictors]].dropna().astype(float)
    if len(data) <= len(predictors) + int(constant):
        return None
    x = data[predictors].to_numpy()
    if constant:
        x = np.column_stack([np.ones(len(x)), x])
    try:
        estimates, *_ = np.linalg.lstsq(x, data[target].to_numpy(), rcond=None)
    except np.linalg.LinAlgError:
        return None
    return list(estimates), len(data)


def _summarised(checked: dict) -> dict:
    k = checked.get("index_columns", 0)
    counts = {RELEASED: 0, SUPPRESSED: 0, WITHHELD: 0}
    reasons: dict[str, int] = {}
    for row in checked["rows"]:
        for cell in row[k:]:
            counts[cell["status"]] += 1
            if cell["status"] != RELEASED:
                reasons[cell["reason"]] = reasons.get(cell["reason"], 0) + 1
    if checked["kind"] == "none":
        reasons[checked["reason"]] = 1
    checked["summary"] = {"cells": counts, "reasons": reasons}
    return checked


_HEADER_WORDS = {
    "mean", "average", "avg", "median", "sum", "total", "count", "n", "size", "std", "sd", "var", "variance", "min", "max",
    "share", "proportion", "percent", "pct", "rate", "distinct", "nunique", "of", "by", "per", "coefficient", "coef", "value",
}  # fmt: skip


def _safe_header(label, position: int, checked: dict, k: int) -> str:
    """A column header the code chose is its text: shown to the analyst only when every word in it is a column name of
    the table or a statistic's name (a header could otherwise carry a value out); else the statistic recomputed."""
    if checked.get("columns_name"):
        return str(label)  # values of the crosstab's column variable, each hidden when its group is small
    names = {w for c in checked.get("table_columns", []) for w in re.findall(r"[a-z0-9]+", str(c).lower())}
    words = re.findall(r"[a-z0-9]+", str(label).lower())
    if words and all(w in names or w in _HEADER_WORDS for w in words):
        return str(label)
    found = [
        row[k + position]["statistic"] for row in checked["rows"] if k + position < len(row) and row[k + position]["status"] == RELEASED
    ]
    return found[0] if found else f"column {position + 1}"


def released_view(checked: dict) -> dict:
    """What the analyst sees of a released output: the released values only, each hidden cell marked by its status
    (never the count or value behind it)."""
    k = checked.get("index_columns", 0)
    rows = [row[:k] + [cell["value"] if cell["status"] == RELEASED else None for cell in row[k:]] for row in checked["rows"]]
    marks = [[cell["status"] for cell in row[k:]] for row in checked["rows"]]
    return {
        "kind": checked["kind"],
        "columns": checked["columns"][:k] + [_safe_header(c, j, checked, k) for j, c in enumerate(checked["columns"][k:])],
        "index_columns": k,
        "rows": rows,
        "marks": marks,
        # what each released value is, as recomputed here (not what the code called it)
        "statistics": [[cell["statistic"] if cell["status"] == RELEASED else "" for cell in row[k:]] for row in checked["rows"]],
        "summary": checked["summary"]["cells"],
    }


def chart_of(checked: dict) -> dict | None:
    """A bar chart rebuilt from the checked table only (the code's own figures are never released)."""
    if checked["kind"] not in ("table", "value", "regression") or not checked["rows"]:
        return None
    k = checked.get("index_columns", 0)
    labels = [" · ".join(str(v) for v in row[:k]) or "value" for row in checked["rows"]]
    traces = []
    for position, column in enumerate(checked["columns"][k:], start=k):
        values = [row[position]["value"] if row[position]["status"] == RELEASED else None for row in checked["rows"]]
        if any(v is not None for v in values):
            traces.append({"type": "bar", "name": str(column), "x": labels, "y": values})
    if not traces:
        return None
    return {
        "data": traces,
        "layout": {"barmode": "group", "margin": {"t": 30}, "title": {"text": "Released values (suppressed cells left out)"}},
    }
