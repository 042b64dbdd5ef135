"""The checker: computes a declared query on a table itself and decides every cell, first by the cell rules
(disclosure.py), then against the ledger of everything released from the dataset before (audit.py).

Pure functions of a pandas table, a declaration and the earlier ledger entries: no Django, no files. The same code
runs on the safe tier for the analyst's pre-check and on RAW for a release.

What each released cell adds to the ledger (its *entries*) and which row sets those register in the audit's spans —
one of exact counts, one of sums for each measure (sums of x over row sets that differ are subtracted there; a count
and a sum of different things are not):
- a count: its row set, among the counts;
- a sum, mean, median, spread or extreme of x: the rows where x is present, among x's sums (a mean is as good as a sum
  once its group's size is known; a median or a spread of two row sets that differ by one person tell of that
  person); for a 0/1 column also among the counts, with the rows where x is 1 (a share gives its numerator and its
  denominator); when conditions of the ledger or the request cut x itself (bands, filters, values), the rows of each
  piece they cut, among the counts: values pinned by their own column's conditions make a sum known piece by piece,
  so no piece may hold 1 to 9 people (and cut points a request adds are checked against every earlier sum of x);
- a distinct count of x: the rows where x is present, among the counts;
- a regression: its rows, and the rows of each value of a categorical or few-valued predictor, among the counts and
  the target's sums (with an intercept those coefficients are group means); its target as a magnitude (a 0/1 target's
  fit gives the count of ones).
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
    significant,
    statistic_of,
)
from workbench.releases.query import (
    BOOL,
    COUNT,
    DATE,
    LINEAR,
    NUMBER,
    TEXT,
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
    counts: bool  # joins the span of exact counts
    measure: str | None  # joins the span of this measure's sums


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


def registrations(entry: Entry, table: _Table, conditioned: dict[str, list[Condition]]) -> list[_Registration]:
    """The row sets an entry registers in the audit (see the module's docstring)."""
    frame, kinds = table.frame, table.kinds
    if any(c.column not in frame.columns for c in entry.region) or (entry.column is not None and entry.column not in frame.columns):
        return []  # a column the table no longer has: its cells concern no row here
    mask = lambda region: region_mask(region, frame, kinds)  # noqa: E731
    if entry.statistic == COUNT or entry.column is None:
        return [_Registration(entry.region, mask(entry.region), True, None)]
    column = entry.column
    base = (*entry.region, Condition(column, "present"))
    if entry.statistic == "distinct":
        return [_Registration(base, mask(base), True, None)]
    if entry.statistic == "regression level":
        return [_Registration(entry.region, mask(entry.region), True, column)]
    values = table.distinct(column)
    binary = values is not None and set(values.tolist()) <= {0.0, 1.0}
    out = [_Registration(base, mask(base), binary or entry.statistic == "regression", column)]
    if binary:  # a share (or a regression's fit) gives its numerator, and with it its denominator
        region = (*entry.region, table.equals(column, 1.0))
        out.append(_Registration(region, mask(region), True, None))
    for piece in conditioned.get(column, []):
        # values pinned by conditions on their own column: the sum over a row set is then known piece by piece, up to
        # each piece's width, as soon as the pieces' sizes are; every piece's rows are counted as known
        region = (*entry.region, piece)
        out.append(_Registration(region, mask(region), True, None))
    return out


# --- tables -------------------------------------------------------------------------------------------------------


def check_table(query: Query, frame: pd.DataFrame, rules: Rules, prior: list[Entry], *, seconds: float = CHECK_SECONDS) -> dict:
    """The checked form of a declared table computed on `frame`: every cell released, suppressed or withheld with its
    reason (for owners), the notes, and the ledger entries its release would add."""
    started = time.monotonic()
    table = _Table(frame, query.kinds)
    levels = [group.levels(query.kinds[group.column]) for group in query.groups]
    if query.margins:
        levels = [lv + [("(all)", group.margin())] for lv, group in zip(levels, query.groups, strict=True)]
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


def _conditioned(entries: list[Entry], candidates: list[_Candidate], kinds: dict[str, str]) -> dict[str, list[Condition]]:
    """For each numeric or yes/no column some condition of the ledger or of this request names, the pieces those
    conditions cut its present values into (a magnitude of that column is then registered piece by piece)."""
    conditions: dict[str, list[Condition]] = {}
    for region in [e.region for e in entries] + [e.region for cand in candidates for e in cand.entries]:
        for condition in region:
            if condition.kind not in ("present", "missing") and kinds.get(condition.column) in (NUMBER, DATE, BOOL):
                conditions.setdefault(condition.column, []).append(condition)
    pieces = {}
    for column, found in conditions.items():
        if kinds[column] == BOOL:
            pieces[column] = [Condition(column, "in", (True,)), Condition(column, "in", (False,))]
        else:
            pieces[column] = [_on(piece, column) for piece in numeric_pieces(found)]
    return pieces


def _on(piece: Condition, column: str) -> Condition:
    return Condition(column, piece.kind, piece.values, piece.low, piece.high, piece.low_closed, piece.high_closed)


def _audit(
    candidates: list[_Candidate], protected: list[Entry], rows: list, table: _Table, rules: Rules, prior: list[Entry], *, deadline: float
) -> list[str]:
    """Admit the released cells one by one (largest groups first, so that the smallest give way: secondary
    suppression) while every combination with the ledger stays on at least `threshold` records, in the span of exact
    counts and in each measure's span of sums; withhold the rest."""
    notes: list[str] = []
    if not candidates:
        return notes
    before = _conditioned(prior, [], table.kinds)
    conditioned = _conditioned(prior, candidates, table.kinds)
    prior_registrations = [r for e in prior if not e.protected for r in registrations(e, table, before)]
    protected_registrations = [r for e in [*prior, *protected] if e.protected for r in registrations(e, table, before)[:1]]
    # cut points this request adds on a column pin the values of every earlier magnitude of that column anew: those
    # finer pieces are checked with each new cell that cuts the column, not trusted as released
    refined: dict[str, list[_Registration]] = {}
    for column in conditioned:
        if conditioned[column] != before.get(column):
            refined[column] = [
                r
                for e in prior
                if not e.protected and e.column == column and e.statistic != COUNT
                for r in registrations(e, table, conditioned)
            ]
    for candidate in candidates:
        candidate.registrations = [r for e in candidate.entries for r in registrations(e, table, conditioned)]
        cuts = {c.column for e in candidate.entries for c in e.region} & set(refined)
        candidate.registrations += [r for column in sorted(cuts) for r in refined[column]]
    everything = prior_registrations + protected_registrations + list({id(r): r for c in candidates for r in c.registrations}.values())
    atom, weights = audit.atoms_of([r.mask for r in everything], len(table.frame))
    index = {id(r): i for i, r in enumerate(everything)}
    implied = _ImpliedZero([r.region for r in everything], table, rules.threshold) if rules.zeros_disclosive else None
    spans = _Spans(atom, weights, rules.threshold, len(everything), implied, deadline)
    for registration in prior_registrations:
        spans.register(registration, index[id(registration)])
    guarded: dict[str, list[np.ndarray]] = {}
    for registration in protected_registrations:
        column = registration.measure
        target = spans.sums(column).vector(registration.mask)
        if not np.any(spans.sums(column).reduce(target)[: spans.sums(column).width]):
            notes.append(f"A suppressed cell of {column} can already be derived from earlier releases; this request adds nothing to it.")
            continue
        guarded.setdefault(column, []).append(target)
    for candidate in sorted(candidates, key=lambda c: (-c.n, c.position)):
        r, c = candidate.position
        saved = spans.snapshot()
        reason = ""
        try:
            for registration in candidate.registrations:
                reason = spans.check(registration, index[id(registration)], guarded, table, rules)
                if reason:
                    break
                spans.register(registration, index[id(registration)])
        except audit.Exhausted:
            reason = "the audit could not prove it safe beside earlier releases within its budget"
        if reason:
            spans.restore(saved)
            rows[r][c] = cell(None, WITHHELD, f"secondary: {reason}", rows[r][c]["statistic"], rows[r][c]["n"])
    return notes


class _Spans:
    """The audit's spans over one set of atoms: exact counts (with the zero check) and, for each measure, its sums."""

    def __init__(self, atom, weights, threshold: int, capacity: int, implied, deadline: float):
        self.atom, self.weights, self.threshold, self.deadline = atom, weights, threshold, deadline
        self.counts = audit.Span(atom, weights, threshold, capacity=capacity, implied=implied, deadline=deadline)
        self.measures: dict[str, audit.Span] = {}
        self.masks: dict[str, list[np.ndarray]] = {}
        self.values: dict[str, np.ndarray] = {}

    def sums(self, column: str) -> audit.Span:
        if column not in self.measures:
            self.measures[column] = audit.Span(self.atom, self.weights, self.threshold, deadline=self.deadline)
            self.masks[column] = []
        return self.measures[column]

    def check(self, registration: _Registration, index: int, guarded: dict, table: _Table, rules: Rules) -> str:
        if registration.counts:
            verdict = self.counts.check(self.counts.vector(registration.mask, index))
            if not verdict.admitted:
                return verdict.reason
        column = registration.measure
        if column:
            span = self.sums(column)
            verdict = span.check(span.vector(registration.mask))
            if not verdict.admitted:
                return verdict.reason.replace("singles out", f"gives the sum of {column} of")
            if column not in self.values:
                self.values[column] = np.abs(table.numbers(column))
            return _magnitude_check(span, self.masks[column], guarded.get(column, []), registration.mask, self.values[column], rules)
        return ""

    def register(self, registration: _Registration, index: int) -> None:
        if registration.counts:
            self.counts.register(self.counts.vector(registration.mask, index))
        if registration.measure:
            span = self.sums(registration.measure)
            span.register(span.vector(registration.mask))
            self.masks[registration.measure].append(registration.mask)

    def snapshot(self):
        return self.counts.snapshot(), {name: (span.snapshot(), list(self.masks[name])) for name, span in self.measures.items()}

    def restore(self, saved) -> None:
        self.counts.restore(saved[0])
        for name in list(self.measures):
            if name in saved[1]:
                self.measures[name].restore(saved[1][name][0])
                self.masks[name] = saved[1][name][1]
            else:
                del self.measures[name], self.masks[name]


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


# --- the zero check ---------------------------------------------------------------------------------------------

_MISSING, _OTHER = "\x00missing", "\x00other"
GRID_LIMIT = 2_000_000


class _ImpliedZero:
    """Whether a combination of registered row sets that holds no record tells something about a small group.

    The combination's definition is rebuilt over the columns its row sets name: every column's values cut into the
    pieces its conditions separate, the combination's coefficient on each cell of that grid, pieces merged where the
    combination does not tell them apart. A cell with a coefficient holds nobody (the combination holds no record); it
    is disclosive when widening it along one column reaches 1 to threshold − 1 people: then it tells those few that nobody like them has the value it left out ("nobody aged 100 or
    more is without HIV", of the one person aged 100 or more). Cells whose every widening holds nobody or at least
    `threshold` people speak of large groups or of nobody (the "other values" of a declared list that the data does not
    hold), as a crosstab's total does — except an empty *range* of a numeric column that ranges cut: "nobody costs
    between 240,000 and 260,000" is refused like a small group, or a series of filters would find the largest value
    by which ranges are empty. "Present" conditions are left out: that nobody in a group lacks a value is not what the
    rule protects."""

    def __init__(self, regions: list[Region], table: _Table, threshold: int):
        self.regions = [tuple(c for c in region if c.kind != "present") for region in regions]
        self.table = table
        self.threshold = threshold

    def __call__(self, coefficients: dict[int, int]) -> str:
        regions = {i: self.regions[i] for i in coefficients}
        columns = sorted({c.column for region in regions.values() for c in region})
        if not columns:
            return ""
        cut = {
            column: _pieces(column, [c for r in regions.values() for c in r if c.column == column], self.table.kinds[column])
            for column in columns
        }
        shape = tuple(len(cut[column][0]) for column in columns)
        if int(np.prod(shape, dtype=np.float64)) > GRID_LIMIT:
            return "with earlier cells it implies a region too finely cut to check (held back to be safe)"
        combination = np.zeros(shape, dtype=np.int64)
        for i, coefficient in coefficients.items():
            indicator = np.ones(shape, dtype=bool)
            for axis, column in enumerate(columns):
                allowed = np.ones(shape[axis], dtype=bool)
                for condition in regions[i]:
                    if condition.column == column:
                        allowed &= cut[column][1](condition)
                indicator &= allowed.reshape([-1 if a == axis else 1 for a in range(len(columns))])
            combination = (combination + indicator.astype(np.int64) * (coefficient % audit.P)) % audit.P
        cells = np.zeros(len(self.table.frame), dtype=np.int64)
        for axis, column in enumerate(columns):
            cells = cells * shape[axis] + cut[column][2](self.table.frame[column])
        counts = np.bincount(cells, minlength=int(np.prod(shape))).reshape(shape)
        combination, counts, groups = _coarsened(combination, counts)
        claimed = (combination != 0) & (counts == 0)
        for axis in range(len(columns)):
            around = counts.sum(axis=axis, keepdims=True)
            if np.any(claimed & (around >= 1) & (around < self.threshold)):
                return f"with earlier cells it tells that nobody in a group of fewer than {self.threshold} people has a value they define"
        for axis, column in enumerate(columns):
            ranged = self.table.kinds[column] in (NUMBER, DATE) and any(
                c.kind == "range" for r in regions.values() for c in r if c.column == column
            )
            if not ranged:
                continue
            present = set(range(shape[axis] - 1))  # every piece but the last, the missing values
            partial = np.array([bool(group & present) and not present <= group for group in groups[axis]])
            shaped = partial.reshape([-1 if a == axis else 1 for a in range(len(columns))])
            around = counts.sum(axis=axis, keepdims=True)  # people like them at any value: the range is what is empty
            if np.any(claimed & shaped & (around >= 1)):
                return f"with earlier cells it tells that nobody has a value of {column} in a range they define (a range's zero cell)"
        return ""


def _coarsened(combination: np.ndarray, counts: np.ndarray):
    """The grid with the pieces of a column merged wherever the combination does not tell them apart (its slices
    along that column are equal), until no more merge: what it says of every age alike is said of everyone, not of
    each age's few people. Also, for each axis, the original pieces each merged piece holds."""
    groups = [[{i} for i in range(size)] for size in combination.shape]
    changed = True
    while changed:
        changed = False
        for axis in range(combination.ndim):
            slices = np.moveaxis(combination, axis, 0).reshape(combination.shape[axis], -1)
            _, first, group = np.unique(slices, axis=0, return_index=True, return_inverse=True)
            if len(first) == combination.shape[axis]:
                continue
            group = group.reshape(-1)
            merged = np.zeros((len(first), *np.delete(counts.shape, axis)), dtype=counts.dtype)
            np.add.at(merged, group, np.moveaxis(counts, axis, 0))
            combination = np.moveaxis(np.moveaxis(combination, axis, 0)[first], 0, axis)
            counts = np.moveaxis(merged, 0, axis)
            groups[axis] = [set().union(*(groups[axis][j] for j in np.flatnonzero(group == g))) for g in range(len(first))]
            changed = True
    return combination, counts, groups


def numeric_pieces(conditions: list[Condition]) -> list[Condition]:
    """The pieces the present values of a numeric (or date) column fall into, given every condition on it: maximal
    intervals (or single points) that no condition splits, in order, each as a condition of its own. A cut point
    that every condition closes on the same side makes no piece of its own."""
    points = sorted(
        {float(v) for c in conditions if c.kind in ("in", "not in") for v in c.values}
        | {float(b) for c in conditions for b in (c.low, c.high) if b is not None}
    )
    if not points:
        return [Condition("", "range")]
    raw = []  # (kind, low, high, representative): the open intervals and the points between them
    for i in range(len(points) + 1):
        low = points[i - 1] if i else None
        high = points[i] if i < len(points) else None
        representative = (low + high) / 2 if low is not None and high is not None else (high - 1.0 if low is None else low + 1.0)
        raw.append(("open", low, high, representative))
        if i < len(points):
            raw.append(("point", points[i], points[i], points[i]))
    signature = [tuple(_holds(c, r[3]) for c in conditions) for r in raw]
    pieces, start = [], 0
    for i in range(1, len(raw) + 1):
        if i == len(raw) or signature[i] != signature[start]:
            first, last = raw[start], raw[i - 1]
            if first is last and first[0] == "point":
                pieces.append(Condition("", "in", (first[1],)))
            else:
                pieces.append(
                    Condition("", "range", low=first[1], high=last[2], low_closed=first[0] == "point", high_closed=last[0] == "point")
                )
            start = i
    return pieces


def _holds(condition: Condition, value: float) -> bool:
    """Whether a present value meets a numeric condition."""
    if condition.kind in ("missing",):
        return False
    if condition.kind == "present":
        return True
    if condition.kind in ("in", "not in"):
        return (value in {float(v) for v in condition.values}) == (condition.kind == "in")
    above = condition.low is None or (value >= condition.low if condition.low_closed else value > condition.low)
    below = condition.high is None or (value <= condition.high if condition.high_closed else value < condition.high)
    return above and below


def _representative(piece: Condition) -> float:
    if piece.kind == "in":
        return float(piece.values[0])
    if piece.low is not None and piece.high is not None:
        return piece.low if piece.low_closed else piece.high if piece.high_closed else (piece.low + piece.high) / 2
    if piece.low is None and piece.high is None:
        return 0.0
    return (
        (piece.high if piece.high_closed else piece.high - 1.0)
        if piece.low is None
        else (piece.low if piece.low_closed else piece.low + 1.0)
    )


def _pieces(column: str, conditions: list[Condition], kind: str):
    """The pieces a column's values fall into, given every condition on it: their labels (for a numeric column, the
    pieces as conditions, missing last), a function from a condition to the pieces it allows, and one from the
    column's values to each record's piece."""
    if kind in (NUMBER, DATE):
        pieces = numeric_pieces(conditions)
        representatives = [_representative(piece) for piece in pieces]

        def allowed(condition: Condition) -> np.ndarray:
            missing = condition.kind == "missing" or (condition.kind == "in" and condition.or_missing)
            return np.array([_holds(condition, r) for r in representatives] + [missing])

        def piece_of(series: pd.Series) -> np.ndarray:
            values = numeric_view(series, kind)
            out = np.full(len(values), len(pieces), dtype=np.int64)  # missing
            for i, piece in enumerate(pieces):
                hit = _numbers_meet(piece, values)
                out[hit] = i
            return out

        return [*pieces, None], allowed, piece_of
    values = sorted({str(v) for c in conditions for v in c.values})
    labels = values + [_OTHER, _MISSING]
    where = {value: i for i, value in enumerate(values)}

    def allowed_text(condition: Condition) -> np.ndarray:
        named = {str(v) for v in condition.values}
        if condition.kind == "missing":
            return np.array([label == _MISSING for label in labels])
        if condition.kind == "present":
            return np.array([label != _MISSING for label in labels])
        if condition.kind == "in":
            return np.array([label in named or (condition.or_missing and label == _MISSING) for label in labels])
        return np.array([label != _MISSING and label not in named for label in labels])

    def piece_of_text(series: pd.Series) -> np.ndarray:
        text = series.astype("string") if kind == TEXT else series.astype("boolean").astype("string").str.capitalize()
        out = text.map(lambda v: where.get(v, len(values)), na_action="ignore").fillna(len(values) + 1)
        return out.to_numpy(dtype=np.int64)

    return labels, allowed_text, piece_of_text


def _numbers_meet(condition: Condition, values: np.ndarray) -> np.ndarray:
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        if condition.kind == "in":
            return present & np.isin(values, np.array([float(v) for v in condition.values]))
        inside = present.copy()
        if condition.low is not None:
            inside &= values >= condition.low if condition.low_closed else values > condition.low
        if condition.high is not None:
            inside &= values <= condition.high if condition.high_closed else values < condition.high
        return inside


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
    problems = regression_problems(design, target, few, rules) if finite else ["some values are not finite numbers"]
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
        levels = [lv + [("(all)", group.margin())] for lv, group in zip(levels, query.groups, strict=True)]
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
        levels = [lv + [("(all)", group.margin())] for lv, group in zip(levels, query.groups, strict=True)]
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
