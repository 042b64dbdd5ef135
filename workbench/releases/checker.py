"""The checker: computes a declared query on a table itself and decides every cell, first by the cell rules
(disclosure.py), then against the ledger of everything released from the dataset before (audit.py).

Pure functions of a pandas table, a declaration and the earlier ledger entries: no Django, no files. The same code
runs on the safe tier for the analyst's pre-check and on RAW for a release.

What each released cell adds to the ledger (its *entries*) and which row sets those register in the audit:
- a count: its row set;
- a sum or a mean of x: the rows where x is present, in the span of all row sets and in x's own span (sums of x over
  sets that differ are subtracted there); for a 0/1 column also the rows where x is 1 (a share tells its numerator),
  and for a column of at most 20 values that some condition names, the rows of each value (a sum is then a
  combination of counts);
- a median, spread, extreme or distinct count of x: the rows where x is present;
- a regression: its rows, and the rows of each value of a categorical or few-valued predictor (in the target's span
  too: with an intercept those coefficients are group means).
A magnitude cell suppressed by dominance or as all-same is *protected*: no later combination of sums may give it.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.releases import audit
from workbench.releases.disclosure import (
    FEW_VALUES,
    RELEASED,
    SUPPRESSED,
    WITHHELD,
    Rules,
    cell,
    check_count,
    check_statistic,
    dominance,
    regression_problems,
    rounded,
    statistic_of,
    significant,
)
from workbench.releases.query import (
    BOOL,
    COUNT,
    DATE,
    LINEAR,
    NUMBER,
    Condition,
    Query,
    Region,
    numeric_view,
    region_from_json,
    region_json,
    region_mask,
)

CHECK_SECONDS = 300.0
DISCRETE_VALUES = 20


@dataclass(frozen=True)
class Entry:
    """One entry of a dataset's ledger: the row set a released cell was computed from and its statistic, or a
    suppressed magnitude cell that must never be derived (`protected`)."""

    region: Region
    statistic: str
    column: str | None = None
    protected: bool = False

    def as_json(self) -> dict:
        return {"region": region_json(self.region), "statistic": self.statistic, "column": self.column, "protected": self.protected}

    @classmethod
    def from_json(cls, document: dict) -> "Entry":
        return cls(
            region_from_json(document["region"]), str(document["statistic"]), document.get("column"), bool(document.get("protected"))
        )


@dataclass
class _Registration:
    region: Region
    mask: np.ndarray
    measure: str | None  # the measure whose span it joins too


@dataclass
class _Candidate:
    position: tuple[int, int]  # (row, column) in the output
    n: int
    entries: list[Entry]
    registrations: list[_Registration] = field(default_factory=list)


class _Table:
    """The table's columns and facts the registrations depend on (computed once)."""

    def __init__(self, frame: pd.DataFrame, kinds: dict[str, str]):
        self.frame = frame
        self.kinds = kinds
        self._values: dict[str, np.ndarray | None] = {}

    def numbers(self, column: str) -> np.ndarray:
        return numeric_view(self.frame[column], self.kinds[column])

    def distinct(self, column: str) -> np.ndarray | None:
        """The column's distinct present values when there are at most DISCRETE_VALUES of them (as floats)."""
        if column not in self._values:
            if self.kinds[column] in (NUMBER, BOOL):
                values = np.unique(self.numbers(column)[~self.frame[column].isna().to_numpy()])
                self._values[column] = values if len(values) <= DISCRETE_VALUES else None
            else:
                self._values[column] = None
        return self._values[column]

    def equals(self, column: str, value: float) -> Condition:
        return Condition(column, "in", (bool(value),) if self.kinds[column] == BOOL else (float(value),))


def registrations(entry: Entry, table: _Table, conditioned: set[str]) -> list[_Registration]:
    """The row sets an entry registers in the audit (see the module's docstring)."""
    frame, kinds = table.frame, table.kinds
    if entry.statistic == COUNT or entry.column is None:
        return [_Registration(entry.region, region_mask(entry.region, frame, kinds), None)]
    column = entry.column
    if column not in frame.columns or any(c.column not in frame.columns for c in entry.region):
        return []  # a column the table no longer has: its cells concern no row here
    base = (*entry.region, Condition(column, "present"))
    linear = entry.statistic in LINEAR or entry.statistic.startswith("regression")
    out = [_Registration(base, region_mask(base, frame, kinds), column if linear else None)]
    if entry.statistic in LINEAR:
        values = table.distinct(column)
        if values is not None and (set(values.tolist()) <= {0.0, 1.0} or column in conditioned):
            for value in values if column in conditioned else [1.0]:
                region = (*entry.region, table.equals(column, value))
                out.append(_Registration(region, region_mask(region, frame, kinds), None))
    return out


# --- tables -------------------------------------------------------------------------------------------------------


def check_table(query: Query, frame: pd.DataFrame, rules: Rules, prior: list[Entry], *, seconds: float = CHECK_SECONDS) -> dict:
    """The checked form of a declared table computed on `frame`: every cell released, suppressed or withheld with its
    reason (for owners), the notes, and the ledger entries its release would add."""
    started = time.monotonic()
    table = _Table(frame, query.kinds)
    levels = [group.levels(query.kinds[group.column]) for group in query.groups]
    if query.margins:
        levels = [lv + [("(all)", None)] for lv in levels]
    filter_mask = region_mask(query.filters, frame, query.kinds)
    level_masks = [[(label, cond, cond.mask(frame, query.kinds) if cond else None) for label, cond in lv] for lv in levels]
    rows, candidates, protected = [], [], []
    for combination in _product(level_masks):
        labels = [label for label, _, _ in combination]
        region: Region = (*query.filters, *(cond for _, cond, _ in combination if cond is not None))
        mask = filter_mask.copy()
        for _, _, level in combination:
            if level is not None:
                mask &= level
        n = int(mask.sum())
        cells = []
        for position, measure in enumerate(query.measures):
            checked, entries, protect = _cell(measure, region, mask, n, table, rules)
            cells.append(checked)
            if checked["status"] == RELEASED:
                candidates.append(_Candidate((len(rows), len(query.groups) + position), n, entries))
            protected += protect
        rows.append(labels + cells)
    notes = _audit(candidates, protected, rows, table, rules, prior, deadline=started + seconds)
    return _summarised(
        {
            "kind": "table",
            "query": query.as_json(),
            "description": query.describe(),
            "columns": [g.column for g in query.groups] + [m.header for m in query.measures],
            "index_columns": len(query.groups),
            "rows": rows,
            "entries": [_valued(e, rows, c) for c in candidates if _released(rows, c) for e in c.entries]
            + [e.as_json() for e in protected],
            "notes": notes,
            "rules": rules.as_json(),
            "seconds": round(time.monotonic() - started, 3),
        }
    )


def _product(level_masks: list[list]) -> list[list]:
    combinations: list[list] = [[]]
    for levels in level_masks:
        combinations = [c + [level] for c in combinations for level in levels]
    return combinations


def _cell(measure, region: Region, mask: np.ndarray, n: int, table: _Table, rules: Rules):
    """One cell: its checked value, the ledger entries a release adds, and the protected entries a suppression adds."""
    if measure.statistic == COUNT:
        return check_count(n, rules), [Entry(region, COUNT)], []
    column = measure.column
    present = mask & ~table.frame[column].isna().to_numpy()
    if measure.statistic == "distinct":
        values = table.frame[column][present].astype("string").to_numpy()
        checked = check_statistic("distinct", values, rules)
    else:
        values = table.numbers(column)[present]
        checked = check_statistic(measure.statistic, values, rules, rounded_count=rounded(int(present.sum()), rules.rounding_base))
    checked["statistic"] = measure.header
    entry = Entry(region, measure.statistic, column)
    protect = []
    if checked["status"] == SUPPRESSED and measure.statistic in LINEAR and int(present.sum()) >= rules.threshold:
        protect = [Entry(region, measure.statistic, column, protected=True)]  # dominated or all-same: keep it underivable
    return checked, [entry], protect


def _released(rows: list, candidate: _Candidate) -> bool:
    r, c = candidate.position
    return rows[r][c]["status"] == RELEASED


def _valued(entry: Entry, rows: list, candidate: _Candidate) -> dict:
    """A ledger entry with its cell's exact and released values (the ledger keeps them sealed)."""
    r, c = candidate.position
    return entry.as_json() | {"exact": rows[r][c].get("exact"), "released": rows[r][c]["value"]}


def _conditioned(entries: list[Entry], candidates: list[_Candidate]) -> set[str]:
    named = {c.column for e in entries for c in e.region}
    return named | {c.column for cand in candidates for e in cand.entries for c in e.region}


def _audit(
    candidates: list[_Candidate], protected: list[Entry], rows: list, table: _Table, rules: Rules, prior: list[Entry], *, deadline: float
) -> list[str]:
    """Admit the released cells one by one (largest groups first, so that the smallest give way: secondary
    suppression) while every combination with the ledger stays on at least `threshold` records; withhold the rest."""
    notes: list[str] = []
    if not candidates:
        return notes
    conditioned = _conditioned(prior, candidates)
    prior_registrations = [r for e in prior if not e.protected for r in registrations(e, table, conditioned)]
    protected_registrations = [r for e in [*prior, *protected] if e.protected for r in registrations(e, table, conditioned)[:1]]
    for candidate in candidates:
        candidate.registrations = [r for e in candidate.entries for r in registrations(e, table, conditioned)]
    everything = prior_registrations + protected_registrations + [r for c in candidates for r in c.registrations]
    atom, weights = audit.atoms_of([r.mask for r in everything], len(table.frame))
    evaluations = _evaluations([r.region for r in everything], table.kinds)
    index = {id(r): i for i, r in enumerate(everything)}
    span = audit.Span(atom, weights, rules.threshold, zeros=rules.zeros_disclosive, deadline=deadline)
    measures: dict[str, audit.Span] = {}
    measure_masks: dict[str, list[np.ndarray]] = {}

    def measure_span(column: str) -> audit.Span:
        if column not in measures:
            measures[column] = audit.Span(atom, weights, rules.threshold, zeros=False, deadline=deadline)
            measure_masks[column] = []
        return measures[column]

    for registration in prior_registrations:
        span.register(span.vector(registration.mask, evaluations[index[id(registration)]]))
        if registration.measure:
            measure_span(registration.measure).register(measures[registration.measure].vector(registration.mask))
            measure_masks[registration.measure].append(registration.mask)
    guarded: dict[str, list[np.ndarray]] = {}
    for registration in protected_registrations:
        column = registration.measure
        if column is None:
            continue
        target = measure_span(column).vector(registration.mask)
        if not np.any(measures[column].reduce(target)[: measures[column].width]):
            notes.append(f"A suppressed cell of {column} can already be derived from earlier releases; this request adds nothing to it.")
            continue
        guarded.setdefault(column, []).append(target)
    numbers = {}
    for candidate in sorted(candidates, key=lambda c: (-c.n, c.position)):
        r, c = candidate.position
        saved = (span.snapshot(), {name: (s.snapshot(), list(measure_masks[name])) for name, s in measures.items()})
        reason = ""
        try:
            for registration in candidate.registrations:
                vector = span.vector(registration.mask, evaluations[index[id(registration)]])
                verdict = span.check(vector)
                if not verdict.admitted:
                    reason = verdict.reason
                    break
                span.register(vector)
                column = registration.measure
                if column:
                    if column not in numbers:
                        numbers[column] = np.abs(table.numbers(column))
                    reason = _magnitude_check(
                        measure_span(column), measure_masks[column], guarded.get(column, []), registration.mask, numbers[column], rules
                    )
                    if reason:
                        break
                    measures[column].register(measures[column].vector(registration.mask))
                    measure_masks[column].append(registration.mask)
        except audit.Exhausted:
            reason = "the audit could not prove it safe beside earlier releases within its budget"
        if reason:
            span.restore(saved[0])
            for name, (state, masks) in saved[1].items():
                measures[name].restore(state)
                measure_masks[name] = masks
            for name in list(measures):
                if name not in saved[1]:
                    del measures[name], measure_masks[name]
            rows[r][c] = cell(None, WITHHELD, f"secondary: {reason}", rows[r][c]["statistic"], rows[r][c]["n"])
    return notes


def _magnitude_check(
    span: audit.Span, masks: list[np.ndarray], guarded: list[np.ndarray], mask: np.ndarray, values: np.ndarray, rules: Rules
) -> str:
    """Why a sum over `mask` may not join its measure's span: it would let a suppressed cell be derived, or its
    difference with a nested row set released before is dominated by a few values."""
    vector = span.vector(mask)
    if any(span.would_imply(vector, target) for target in guarded):
        return "with earlier sums it would give a suppressed cell"
    for other in masks:
        if np.array_equal(other, mask):
            continue
        if not np.any(mask & ~other):
            difference = other & ~mask
        elif not np.any(other & ~mask):
            difference = mask & ~other
        else:
            continue
        if int(difference.sum()) >= rules.threshold:
            dominated = dominance(values[difference], rules)
            if dominated:
                return f"its difference with an earlier sum is dominated ({dominated})"
    return ""


# --- the zero check's evaluations -----------------------------------------------------------------------------------

_MISSING, _OTHER = "\x00missing", "\x00other"


def _evaluations(regions: list[Region], kinds: dict[str, str], *, seed: int | None = None) -> list[tuple[int, ...]]:
    """Each region's definition evaluated at random points of the product of its columns' pieces (see audit.py):
    for every column, the pieces its conditions cut its values into; a region is the product over columns of the
    sums of random numbers over the pieces it allows. "Present" conditions are left out: that nobody in a group lacks
    a value is not a zero cell the rules protect (two row sets that differ only by missing values differ by records,
    and that difference is checked)."""
    rng = np.random.default_rng(seed)
    regions = [tuple(c for c in region if c.kind != "present") for region in regions]
    columns = sorted({c.column for region in regions for c in region})
    pieces = {column: _pieces(column, [c for region in regions for c in region if c.column == column], kinds[column]) for column in columns}
    randoms = {column: rng.integers(1, audit.P, size=(audit.EVALUATIONS, len(pieces[column][0]))) for column in columns}
    out = []
    for region in regions:
        values = np.ones(audit.EVALUATIONS, dtype=object)
        for column in columns:
            allowed = np.ones(len(pieces[column][0]), dtype=bool)
            for condition in region:
                if condition.column == column:
                    allowed &= pieces[column][1](condition)
            sums = randoms[column][:, allowed].sum(axis=1) % audit.P
            values = (values * sums.astype(object)) % audit.P
        out.append(tuple(int(v) for v in values))
    return out


def _pieces(column: str, conditions: list[Condition], kind: str):
    """The pieces a column's values fall into, given every condition on it, and a function from a condition to the
    pieces it allows."""
    if kind in (NUMBER, DATE):
        points = sorted(
            {float(v) for c in conditions for v in c.values} | {float(b) for c in conditions for b in (c.low, c.high) if b is not None}
        )
        # pieces: (-inf, p0), {p0}, (p0, p1), {p1}, ..., {pm}, (pm, inf), missing
        labels = [("open", i) for i in range(len(points) + 1)] + [("point", i) for i in range(len(points))] + [("missing", 0)]

        def allowed(condition: Condition) -> np.ndarray:
            out = np.zeros(len(labels), dtype=bool)
            for j, (sort, i) in enumerate(labels):
                if sort == "missing":
                    out[j] = condition.kind == "missing"
                    continue
                if condition.kind == "missing":
                    continue
                if condition.kind == "present":
                    out[j] = True
                elif condition.kind in ("in", "not in"):
                    hit = sort == "point" and points[i] in {float(v) for v in condition.values}
                    out[j] = hit if condition.kind == "in" else not hit
                else:
                    if sort == "point":
                        value = points[i]
                        above = condition.low is None or (value >= condition.low if condition.low_closed else value > condition.low)
                        below = condition.high is None or (value <= condition.high if condition.high_closed else value < condition.high)
                        out[j] = above and below
                    else:
                        lower = points[i - 1] if i > 0 else -np.inf
                        upper = points[i] if i < len(points) else np.inf
                        above = condition.low is None or lower >= condition.low
                        below = condition.high is None or upper <= condition.high
                        out[j] = above and below
            return out

        return labels, allowed
    values = sorted({str(v) for c in conditions for v in c.values})
    labels = values + [_OTHER, _MISSING]

    def allowed_text(condition: Condition) -> np.ndarray:
        named = {str(v) for v in condition.values}
        if condition.kind == "missing":
            return np.array([label == _MISSING for label in labels])
        if condition.kind == "present":
            return np.array([label != _MISSING for label in labels])
        if condition.kind == "in":
            return np.array([label in named for label in labels])
        return np.array([label != _MISSING and label not in named for label in labels])

    return labels, allowed_text


def _summarised(checked: dict) -> dict:
    k = checked.get("index_columns", 0)
    counts = {RELEASED: 0, SUPPRESSED: 0, WITHHELD: 0}
    reasons: dict[str, int] = {}
    for row in checked["rows"]:
        for c in row[k:]:
            counts[c["status"]] += 1
            if c["status"] != RELEASED:
                reasons[c["reason"]] = reasons.get(c["reason"], 0) + 1
    checked["summary"] = {"cells": counts, "reasons": reasons}
    return checked


# --- regressions ----------------------------------------------------------------------------------------------------


def check_regression(query: Query, frame: pd.DataFrame, rules: Rules, prior: list[Entry], *, seconds: float = CHECK_SECONDS) -> dict:
    """A declared linear regression fitted on `frame` by ordinary least squares with an intercept: its coefficients
    released only when the fit passes the rules and its row sets pass the ledger's audit."""
    started = time.monotonic()
    table = _Table(frame, query.kinds)
    kinds = query.kinds
    region: Region = (
        *query.filters,
        Condition(query.target, "present"),
        *(Condition(p.column, "in", p.values) if p.values else Condition(p.column, "present") for p in query.predictors),
    )
    mask = region_mask(region, frame, kinds)
    n = int(mask.sum())
    names, columns, few, levels = ["(intercept)"], [np.ones(n)], {}, []
    for predictor in query.predictors:
        if predictor.values:
            for term, condition in predictor.terms(kinds[predictor.column]):
                names.append(term)
                columns.append(condition.mask(frame, kinds)[mask].astype(float))
            few[predictor.column] = frame[predictor.column][mask].astype("string").to_numpy()
            levels += [(predictor.column, Condition(predictor.column, "in", (v,))) for v in predictor.values]
        else:
            values = table.numbers(predictor.column)[mask]
            names.append(predictor.column)
            columns.append(values)
            distinct = np.unique(values)
            if len(distinct) <= FEW_VALUES:
                few[predictor.column] = values
                levels += [(predictor.column, table.equals(predictor.column, v)) for v in distinct]
    design = np.column_stack(columns) if n else np.zeros((0, len(names)))
    target = table.numbers(query.target)[mask]
    statistic = f"OLS coefficient ({query.target})"
    finite = bool(np.all(np.isfinite(design)) and np.all(np.isfinite(target)))
    problems = regression_problems(design, few, rules) if finite else ["some values are not finite numbers"]
    entries = [Entry(region, "regression", query.target)] + [
        Entry((*region, condition), "regression level", query.target) for _, condition in levels
    ]
    observations = check_count(n, rules)
    if problems:
        rows = [[name, cell(None, SUPPRESSED, "; ".join(problems), statistic, n)] for name in names]
        candidate = _Candidate((len(names), 1), n, [Entry(region, COUNT)])
    else:
        estimates, *_ = np.linalg.lstsq(design, target, rcond=None)
        dof = f"residual degrees of freedom {n - len(names)}"
        rows = [
            [name, cell(significant(float(b), rules.digits), RELEASED, dof, statistic, n)] for name, b in zip(names, estimates, strict=True)
        ]
        candidate = _Candidate((0, 1), n, [*entries, Entry(region, COUNT)])
    rows.append(["(observations)", observations])
    notes = []
    if rows[candidate.position[0]][1]["status"] == RELEASED:
        notes = _audit([candidate], [], rows, table, rules, prior, deadline=started + seconds)
        held = rows[candidate.position[0]][1]
        if held["status"] == WITHHELD:  # the whole fit goes together, its count with it
            rows = [[row[0], cell(None, WITHHELD, held["reason"], row[1]["statistic"], row[1]["n"])] for row in rows]
    released = _released(rows, candidate)
    return _summarised(
        {
            "kind": "regression",
            "query": query.as_json(),
            "description": query.describe(),
            "columns": ["term", "coefficient"],
            "index_columns": 1,
            "rows": rows,
            "entries": [_valued(e, rows, candidate) for e in candidate.entries] if released else [],
            "notes": notes,
            "rules": rules.as_json(),
            "seconds": round(time.monotonic() - started, 3),
        }
    )


# --- without disclosure control ----------------------------------------------------------------------------------


def exact(query: Query, frame: pd.DataFrame) -> dict:
    """The declared query's exact values with no rule and no audit, in the released view's shape: what the airlock
    would let out if it let everything out (the control its hostile tests are run against; owners never need it)."""
    table = _Table(frame, query.kinds)
    if query.kind == "regression":
        region: Region = (
            *query.filters,
            Condition(query.target, "present"),
            *(Condition(p.column, "in", p.values) if p.values else Condition(p.column, "present") for p in query.predictors),
        )
        mask = region_mask(region, frame, query.kinds)
        names, columns = ["(intercept)"], [np.ones(int(mask.sum()))]
        for predictor in query.predictors:
            for term, condition in predictor.terms(query.kinds[predictor.column]):
                names.append(term)
                columns.append(
                    condition.mask(frame, query.kinds)[mask].astype(float) if condition else table.numbers(predictor.column)[mask]
                )
        estimates = np.linalg.lstsq(np.column_stack(columns), table.numbers(query.target)[mask], rcond=None)[0]
        rows = [[name, float(b)] for name, b in zip(names, estimates, strict=True)] + [["(observations)", int(mask.sum())]]
        return {"kind": "regression", "columns": ["term", "coefficient"], "index_columns": 1, "rows": rows}
    levels = [group.levels(query.kinds[group.column]) for group in query.groups]
    if query.margins:
        levels = [lv + [("(all)", None)] for lv in levels]
    filter_mask = region_mask(query.filters, frame, query.kinds)
    rows = []
    for combination in _product([[(label, cond, cond.mask(frame, query.kinds) if cond else None) for label, cond in lv] for lv in levels]):
        mask = filter_mask.copy()
        for _, _, level in combination:
            if level is not None:
                mask &= level
        cells = []
        for measure in query.measures:
            if measure.statistic == COUNT:
                cells.append(int(mask.sum()))
                continue
            present = mask & ~frame[measure.column].isna().to_numpy()
            if measure.statistic == "distinct":
                cells.append(int(frame[measure.column][present].nunique()))
                continue
            values = table.numbers(measure.column)[present]
            cells.append(
                statistic_of(measure.statistic, values) if len(values) > (1 if measure.statistic in ("std", "var") else 0) else None
            )
        rows.append([label for label, _, _ in combination] + cells)
    columns = [g.column for g in query.groups] + [m.header for m in query.measures]
    return {"kind": "table", "columns": columns, "index_columns": len(query.groups), "rows": rows}


# --- differential privacy ------------------------------------------------------------------------------------------


def dp_problems(query: Query) -> list[str]:
    """What a declaration needs before it can be answered with differential privacy."""
    if query.kind == "regression":
        return ["Regressions are not answered with differential privacy here; ask for means or counts by group."]
    problems = []
    for measure in query.measures:
        if measure.statistic not in (COUNT, "sum", "mean"):
            problems.append(f"With differential privacy only counts, sums and means are answered (not {measure.statistic}).")
        elif measure.statistic != COUNT and query.kinds[measure.column] != BOOL and measure.column not in query.bounds:
            problems.append(
                f'Give bounds for \'{measure.column}\' ({{"bounds": {{"{measure.column}": [low, high]}}}}): each value is clamped into them, which sets the noise.'
            )
    return problems


def check_table_dp(query: Query, frame: pd.DataFrame, rules: Rules, epsilon: float) -> dict:
    """A declared table answered with Laplace noise (OpenDP) spending `epsilon` in all: split evenly over the
    measures, a mean's share split again between its sum and its count. Every cell is released noised; no cell is
    suppressed and no audit is needed, since differencing noised answers gives only noise."""
    from workbench.releases import dp  # OpenDP's library is large; only differentially private runs load it

    started = time.monotonic()
    table = _Table(frame, query.kinds)
    levels = [group.levels(query.kinds[group.column]) for group in query.groups]
    if query.margins:
        levels = [lv + [("(all)", None)] for lv in levels]
    cells_per_record = 2 ** len(query.groups) if query.margins else 1  # how many cells one person is counted in
    share = epsilon / len(query.measures)
    filter_mask = region_mask(query.filters, frame, query.kinds)
    combinations = _product([[(label, cond, cond.mask(frame, query.kinds) if cond else None) for label, cond in lv] for lv in levels])
    masks = []
    for combination in combinations:
        mask = filter_mask.copy()
        for _, _, level in combination:
            if level is not None:
                mask &= level
        masks.append(mask)
    columns, noise = [], {}
    for measure in query.measures:
        if measure.statistic == COUNT:
            scale = cells_per_record / share
            values = [max(0, v) for v in dp.noisy_counts([int(m.sum()) for m in masks], scale=scale)]
            columns.append(
                [
                    cell(int(v), RELEASED, f"Laplace noise, scale {scale:.3g}", measure.header, int(m.sum()), int(m.sum()))
                    for v, m in zip(values, masks, strict=True)
                ]
            )
            noise[measure.header] = {"scale": scale}
            continue
        low, high = query.bounds.get(measure.column, (0.0, 1.0))
        numbers = np.clip(table.numbers(measure.column), low, high)
        present = ~np.isnan(numbers)
        part = share / 2 if measure.statistic == "mean" else share
        sum_scale = max(abs(low), abs(high)) * cells_per_record / part
        sums = dp.noisy_sums([float(numbers[m & present].sum()) for m in masks], scale=sum_scale)
        if measure.statistic == "sum":
            values = [significant(v, rules.digits) for v in sums]
            noise[measure.header] = {"scale": sum_scale, "bounds": [low, high]}
        else:
            count_scale = cells_per_record / part
            counts = dp.noisy_counts([int((m & present).sum()) for m in masks], scale=count_scale)
            values = [significant(min(high, max(low, s / c)), rules.digits) if c >= 1 else None for s, c in zip(sums, counts, strict=True)]
            noise[measure.header] = {"scale": sum_scale, "count_scale": count_scale, "bounds": [low, high]}
        columns.append(
            [
                cell(
                    v,
                    RELEASED if v is not None else WITHHELD,
                    "Laplace noise" if v is not None else "its noised count was below 1",
                    measure.header,
                    int((m & present).sum()),
                )
                for v, m in zip(values, masks, strict=True)
            ]
        )
    rows = [[label for label, _, _ in combination] + [column[i] for column in columns] for i, combination in enumerate(combinations)]
    regions = [(*query.filters, *(cond for _, cond, _ in combination if cond is not None)) for combination in combinations]
    entries = [
        Entry(region, m.statistic, m.column).as_json() | {"released": rows[i][len(query.groups) + j]["value"]}
        for i, region in enumerate(regions)
        for j, m in enumerate(query.measures)
    ]
    return _summarised(
        {
            "kind": "table",
            "query": query.as_json(),
            "description": query.describe(),
            "columns": [g.column for g in query.groups] + [m.header for m in query.measures],
            "index_columns": len(query.groups),
            "rows": rows,
            "entries": entries,
            "notes": [f"Differential privacy: ε = {epsilon:g} spent on this table; every value carries Laplace noise (see its scale)."],
            "noise": {"epsilon": epsilon, "measures": noise},
            "rules": rules.as_json(),
            "seconds": round(time.monotonic() - started, 3),
        }
    )


def check(query: Query, frame: pd.DataFrame, rules: Rules, prior: list[Entry], *, seconds: float = CHECK_SECONDS) -> dict:
    if query.kind == "regression":
        return check_regression(query, frame, rules, prior, seconds=seconds)
    return check_table(query, frame, rules, prior, seconds=seconds)
