"""A declared query: what a release computes on the real data, fixed before the real data is read.

A release never runs code on RAW. It asks for a table the checker computes itself — group keys with declared values or
band cut points, a statistic per measure, filters, optional margins — or for a linear regression. Labels, headers,
order and precision are the checker's, rendered from the declaration, so nothing chosen after seeing data (by the
analyst's code or anyone) reaches the output. The same declaration runs on the safe tier for the analyst's pre-check.

The JSON form (hostile input: every field checked, every size capped)::

    {"kind": "table",
     "groups": [{"column": "sex", "values": ["F", "M"]},
                {"column": "age", "bins": [40, 60, 80], "closed": "left"},
                {"column": "admitted", "bins": ["2020-01-01", "2022-01-01"]}],
     "measures": [{"statistic": "count"}, {"statistic": "mean", "column": "cost"}],
     "filters": [{"column": "ward", "op": "in", "value": ["A", "B"]}, {"column": "age", "op": ">=", "value": 18}],
     "margins": false}

    {"kind": "regression", "target": "cost", "predictors": [{"column": "age"}, {"column": "ward", "values": ["A", "B"]}],
     "filters": []}

Bins are cut points: the lowest and highest bands are open ("< 40", "≥ 80"), so no band ends at a value the data chose
(the extremes are single people's values). Declared values that the data does not hold give empty cells, which are
suppressed like small ones, so which values exist is not told. Differential privacy adds "epsilon" and, for sums and
means, "bounds": {"cost": [0, 50000]} (each value clamped into them).
"""

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_GROUPS = 3
MAX_VALUES = 200
MAX_BINS = 60
MAX_MEASURES = 12
MAX_FILTERS = 12
MAX_PREDICTORS = 12
MAX_CELLS = 5000
MAX_TEXT = 500
MAX_NUMBER = 1e15

COUNT = "count"
STATISTICS = ("count", "sum", "mean", "median", "std", "var", "min", "max", "distinct")
MAGNITUDE = ("sum", "mean", "median", "std", "var", "min", "max")
LINEAR = ("sum", "mean")  # statistics that are linear in the values (the ledger keeps a span for each measure)
OPERATORS = ("==", "!=", "in", "not in", "<", "<=", ">", ">=", "between", "missing", "present")

NUMBER, DATE, BOOL, TEXT = "number", "date", "bool", "text"


class QueryError(ValueError):
    """What is wrong with a declaration, in words for the person who wrote it."""


# --- column kinds -------------------------------------------------------------------------------------------------


def column_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's kind, as a declaration may use it (the same on every tier: it is the schema)."""
    return {str(name): _kind(frame[name]) for name in frame.columns}


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return BOOL
    if pd.api.types.is_numeric_dtype(series):
        return NUMBER
    if pd.api.types.is_datetime64_any_dtype(series):
        return DATE
    return TEXT


def numeric_view(series: pd.Series, kind: str) -> np.ndarray:
    """A column as float64 (dates as nanoseconds since 1970, missing as NaN) for range conditions."""
    if kind == DATE:
        values = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
        out = values.astype("datetime64[ns]").astype("int64").to_numpy(dtype=np.float64)
        out[values.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)


# --- conditions and regions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One column's condition: its value in a set (or present and not in it), in a range, missing or present."""

    column: str
    kind: str  # "in" | "not in" | "range" | "missing" | "present"
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    low_closed: bool = True
    high_closed: bool = False
    or_missing: bool = False  # "in": missing values too (a margin over declared values and the missing row)

    def mask(self, frame: pd.DataFrame, kinds: dict[str, str]) -> np.ndarray:
        series = frame[self.column]
        missing = series.isna().to_numpy()
        if self.kind == "missing":
            return missing
        if self.kind == "present":
            return ~missing
        if self.kind == "range":
            numbers = numeric_view(series, kinds[self.column])
            with np.errstate(invalid="ignore"):
                inside = np.ones(len(numbers), dtype=bool)
                if self.low is not None:
                    inside &= numbers >= self.low if self.low_closed else numbers > self.low
                if self.high is not None:
                    inside &= numbers <= self.high if self.high_closed else numbers < self.high
            return inside & ~missing
        member = _member(series, kinds[self.column], self.values)
        if self.kind == "in":
            return (member & ~missing) | (missing if self.or_missing else False)
        return ~member & ~missing

    def as_json(self) -> dict:
        out: dict = {"column": self.column, "kind": self.kind}
        if self.kind in ("in", "not in"):
            out["values"] = list(self.values)
        if self.or_missing:
            out["or_missing"] = True
        if self.kind == "range":
            out |= {"low": self.low, "high": self.high, "low_closed": self.low_closed, "high_closed": self.high_closed}
        return out

    @classmethod
    def from_json(cls, document: dict) -> "Condition":
        return cls(
            column=str(document["column"]),
            kind=str(document["kind"]),
            values=tuple(document.get("values") or ()),
            low=document.get("low"),
            high=document.get("high"),
            low_closed=bool(document.get("low_closed", True)),
            high_closed=bool(document.get("high_closed", False)),
            or_missing=bool(document.get("or_missing", False)),
        )


def _member(series: pd.Series, kind: str, values: tuple) -> np.ndarray:
    if kind == TEXT:
        return series.astype("string").isin([str(v) for v in values]).fillna(False).to_numpy(dtype=bool)
    if kind == BOOL:
        wanted = {bool(v) for v in values}
        present = series.notna().to_numpy()
        truth = series.fillna(False).astype(bool).to_numpy()
        return present & np.isin(truth, list(wanted))
    numbers = numeric_view(series, kind)
    return np.isin(numbers, np.array(values, dtype=np.float64))


Region = tuple[Condition, ...]  # a conjunction: the rows a cell is computed from


def region_mask(region: Region, frame: pd.DataFrame, kinds: dict[str, str]) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for condition in region:
        mask &= condition.mask(frame, kinds)
    return mask


def region_json(region: Region) -> list[dict]:
    return [condition.as_json() for condition in region]


def region_from_json(document: list) -> Region:
    return tuple(Condition.from_json(part) for part in document)


# --- the declaration ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A group key: the column and its declared bands or values, each with the checker's own label."""

    column: str
    values: tuple = ()
    bins: tuple = ()
    closed: str = "left"
    other: bool = False
    missing: bool = False

    def levels(self, kind: str) -> list[tuple[str, Condition]]:
        if self.bins:
            return _bands(self.column, self.bins, self.closed, kind) + self._extra(kind, banded=True)
        levels = [(_label(value, kind), Condition(self.column, "in", (value,))) for value in self.values]
        return levels + self._extra(kind, banded=False)

    def margin(self) -> Condition | None:
        """The rows a margin ("(all)") of this group covers: exactly the union of its levels, so that a table's total
        says nothing about values the group leaves out."""
        if self.bins:
            return None if self.missing else Condition(self.column, "range")  # every present value (the bands cover them)
        if self.other:
            return None if self.missing else Condition(self.column, "not in", ())
        return Condition(self.column, "in", tuple(self.values), or_missing=self.missing)

    def _extra(self, kind: str, *, banded: bool) -> list[tuple[str, Condition]]:
        extra = []
        if self.other and not banded:
            extra.append(("(other values)", Condition(self.column, "not in", tuple(self.values))))
        if self.missing:
            extra.append(("(missing)", Condition(self.column, "missing")))
        return extra

    def as_json(self, kind: str) -> dict:
        out: dict = {"column": self.column}
        if self.bins:
            out |= {"bins": [_plain(edge, kind) for edge in self.bins], "closed": self.closed}
        else:
            out["values"] = [_plain(value, kind) for value in self.values]
            if self.other:
                out["other"] = True
        if self.missing:
            out["missing"] = True
        return out


@dataclass(frozen=True)
class Measure:
    statistic: str
    column: str | None = None

    @property
    def header(self) -> str:
        return "count" if self.statistic == COUNT else f"{self.statistic} of {self.column}"

    def as_json(self) -> dict:
        return {"statistic": self.statistic} | ({"column": self.column} if self.column else {})


@dataclass(frozen=True)
class Predictor:
    column: str
    values: tuple = ()  # a categorical predictor: its first value is the reference, each other one a 0/1 column

    def terms(self, kind: str) -> list[tuple[str, Condition | None]]:
        if not self.values:
            return [(self.column, None)]
        return [(f"{self.column} = {_label(value, kind)}", Condition(self.column, "in", (value,))) for value in self.values[1:]]


@dataclass(frozen=True)
class Query:
    """A declared table or regression (parse it with `parse`)."""

    kind: str  # "table" | "regression"
    kinds: dict = field(compare=False, hash=False, repr=False)
    groups: tuple[Group, ...] = ()
    measures: tuple[Measure, ...] = ()
    filters: tuple[Condition, ...] = ()
    margins: bool = False
    target: str | None = None
    predictors: tuple[Predictor, ...] = ()
    epsilon: float | None = None
    bounds: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def columns(self) -> set[str]:
        named = {g.column for g in self.groups} | {m.column for m in self.measures if m.column} | {f.column for f in self.filters}
        if self.kind == "regression":
            named |= {self.target} | {p.column for p in self.predictors}
        return named

    def as_json(self) -> dict:
        filters = [_filter_json(condition, self.kinds.get(condition.column, TEXT)) for condition in self.filters]
        if self.kind == "regression":
            document = {
                "kind": "regression",
                "target": self.target,
                "predictors": [
                    {"column": p.column} | ({"values": [_plain(v, self.kinds[p.column]) for v in p.values]} if p.values else {})
                    for p in self.predictors
                ],
                "filters": filters,
            }
        else:
            document = {
                "kind": "table",
                "groups": [g.as_json(self.kinds.get(g.column, TEXT)) for g in self.groups],
                "measures": [m.as_json() for m in self.measures],
                "filters": filters,
                "margins": self.margins,
            }
        if self.epsilon is not None:
            document["epsilon"] = self.epsilon
        if self.bounds:
            document["bounds"] = {column: list(bounds) for column, bounds in self.bounds.items()}
        return document

    def describe(self) -> str:
        """The declaration in one line of words."""
        where = f", where {'; '.join(_filter_words(f, self.kinds.get(f.column, TEXT)) for f in self.filters)}" if self.filters else ""
        if self.kind == "regression":
            terms = ", ".join(p.column for p in self.predictors)
            return f"linear regression of {self.target} on {terms}{where}"
        measures = ", ".join(m.header for m in self.measures)
        by = f" by {' × '.join(g.column for g in self.groups)}" if self.groups else " over all rows"
        return f"{measures}{by}{' with totals' if self.margins else ''}{where}"


# --- parsing ------------------------------------------------------------------------------------------------------


def parse(document, kinds: dict[str, str], *, allowed: set[str] | None = None) -> Query:
    """A declaration from its JSON form, checked against the table's columns and their kinds (`allowed`: the columns
    a declaration may name, when fewer than the table's). Raises QueryError naming every problem it finds first."""
    if not isinstance(document, dict):
        raise QueryError("A query is a JSON object with a 'kind' ('table' or 'regression').")
    unknown = set(document) - {"kind", "groups", "measures", "filters", "margins", "target", "predictors", "epsilon", "bounds"}
    if unknown:
        raise QueryError(f"Unknown field(s) in the query: {', '.join(sorted(map(_short, unknown)))}.")
    kind = document.get("kind", "table")
    columns = _Columns(kinds, allowed)
    filters = tuple(_filter(part, columns) for part in _list(document.get("filters"), "filters", MAX_FILTERS))
    epsilon = _epsilon(document.get("epsilon"))
    bounds = _bounds(document.get("bounds"), columns)
    if kind == "regression":
        target = columns.need(document.get("target"), "the regression's target", (NUMBER, BOOL))
        predictors = tuple(_predictor(part, columns) for part in _list(document.get("predictors"), "predictors", MAX_PREDICTORS))
        if not predictors:
            raise QueryError("A regression needs at least one predictor.")
        if target in {p.column for p in predictors}:
            raise QueryError("The regression's target cannot also be a predictor.")
        if len({p.column for p in predictors}) != len(predictors):
            raise QueryError("Each predictor may be named once.")
        return Query("regression", kinds, filters=filters, target=target, predictors=predictors, epsilon=epsilon, bounds=bounds)
    if kind != "table":
        raise QueryError("A query's kind is 'table' or 'regression'.")
    groups = tuple(_group(part, columns) for part in _list(document.get("groups"), "groups", MAX_GROUPS))
    if len({g.column for g in groups}) != len(groups):
        raise QueryError("Each group column may be named once.")
    measures = tuple(_measure(part, columns) for part in _list(document.get("measures"), "measures", MAX_MEASURES))
    if not measures:
        raise QueryError('Say what to compute: at least one measure (for example {"statistic": "count"}).')
    if len(set(measures)) != len(measures):
        raise QueryError("Each measure may be asked for once.")
    margins = document.get("margins", False)
    if not isinstance(margins, bool):
        raise QueryError("'margins' is true or false.")
    query = Query("table", kinds, groups=groups, measures=measures, filters=filters, margins=margins, epsilon=epsilon, bounds=bounds)
    cells = cell_count(query)
    if cells > MAX_CELLS:
        raise QueryError(f"This table would have {cells:,} cells; at most {MAX_CELLS:,} are checked in one request.")
    return query


def cell_count(query: Query) -> int:
    rows = 1
    for group in query.groups:
        levels = len(group.bins) + 1 if group.bins else len(group.values) + group.other
        rows *= levels + group.missing + (1 if query.margins else 0)
    return rows * len(query.measures)


class _Columns:
    def __init__(self, kinds: dict[str, str], allowed: set[str] | None):
        self.kinds = kinds
        self.allowed = allowed

    def need(self, name, what: str, kinds: tuple[str, ...] | None = None) -> str:
        if not isinstance(name, str) or not name:
            raise QueryError(f"Name a column for {what}.")
        if name not in self.kinds or (self.allowed is not None and name not in self.allowed):
            raise QueryError(f"There is no column '{_short(name)}' to use for {what}.")
        if kinds and self.kinds[name] not in kinds:
            raise QueryError(f"The column '{_short(name)}' holds {self.kinds[name]}s; {what} needs {' or '.join(k + 's' for k in kinds)}.")
        return name


def _list(value, name: str, limit: int) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise QueryError(f"'{name}' is a list.")
    if len(value) > limit:
        raise QueryError(f"At most {limit} {name} in one query.")
    return value


def _short(text) -> str:
    text = str(text)
    return text if len(text) <= 40 else text[:37] + "…"


def _value(value, kind: str, column: str):
    """A declared value as the checker compares it: text as text, numbers as floats, dates as nanoseconds."""
    if kind == TEXT:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise QueryError(f"Values of '{_short(column)}' are text.")
        text = str(value)
        if len(text) > MAX_TEXT:
            raise QueryError(f"A value of '{_short(column)}' may have at most {MAX_TEXT} characters.")
        return text
    if kind == BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        raise QueryError(f"Values of '{_short(column)}' are true or false.")
    if kind == DATE:
        try:
            when = pd.Timestamp(value) if isinstance(value, str) and len(value) <= 40 else None
        except (ValueError, TypeError):
            when = None
        if when is None or when is pd.NaT:
            raise QueryError(f"Values of '{_short(column)}' are dates (YYYY-MM-DD).")
        if when.tzinfo is not None:
            when = when.tz_convert(None)
        return float(when.value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise QueryError(f"Values of '{_short(column)}' are numbers (finite, at most 1e15 in size).")
    return float(value)


def _plain(value, kind: str):
    """A parsed value back in its JSON form."""
    if kind == DATE:
        when = pd.Timestamp(int(value))
        return when.isoformat()[:10] if when == when.normalize() else when.isoformat()
    if kind == NUMBER:
        return int(value) if float(value).is_integer() and abs(value) < 2**53 else value
    return value


def _label(value, kind: str) -> str:
    """A declared value as the checker prints it."""
    if kind == NUMBER:
        return format_number(value)
    if kind == DATE:
        return str(_plain(value, kind))
    if kind == BOOL:
        return "true" if value else "false"
    return str(value)


def format_number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _group(part, columns: _Columns) -> Group:
    if not isinstance(part, dict):
        raise QueryError('Each group is an object: {"column": ..., "values": [...]} or {"column": ..., "bins": [...]}.')
    unknown = set(part) - {"column", "values", "bins", "closed", "other", "missing"}
    if unknown:
        raise QueryError(f"Unknown field(s) in a group: {', '.join(sorted(map(_short, unknown)))}.")
    column = columns.need(part.get("column"), "a group")
    kind = columns.kinds[column]
    other, missing = part.get("other", False), part.get("missing", False)
    if not isinstance(other, bool) or not isinstance(missing, bool):
        raise QueryError("A group's 'other' and 'missing' are true or false.")
    if "bins" in part:
        if kind not in (NUMBER, DATE):
            raise QueryError(f"Bins need a column of numbers or dates; '{_short(column)}' holds {kind}.")
        if "values" in part or other:
            raise QueryError("A group has either bins or values, not both.")
        edges = _list(part["bins"], "bin edges", MAX_BINS)
        if not edges:
            raise QueryError(f"Give at least one cut point for '{_short(column)}'.")
        parsed = [_value(edge, kind, column) for edge in edges]
        if any(b <= a for a, b in zip(parsed, parsed[1:], strict=False)):
            raise QueryError(f"The cut points of '{_short(column)}' must increase.")
        closed = part.get("closed", "left")
        if closed not in ("left", "right"):
            raise QueryError("'closed' is 'left' (bands [a, b)) or 'right' (bands (a, b], as pd.cut).")
        return Group(column, bins=tuple(parsed), closed=closed, missing=missing)
    values = _list(part.get("values"), "values", MAX_VALUES)
    if not values:
        raise QueryError(f"Declare the values of '{_short(column)}' to group by (or cut points as 'bins').")
    parsed = [_value(value, kind, column) for value in values]
    if len(set(parsed)) != len(parsed):
        raise QueryError(f"A value of '{_short(column)}' is declared twice.")
    return Group(column, values=tuple(parsed), other=other, missing=missing)


def _bands(column: str, cuts: tuple, closed: str, kind: str) -> list[tuple[str, Condition]]:
    text = [_label(cut, kind) for cut in cuts]
    left = closed == "left"
    out = [(f"< {text[0]}" if left else f"≤ {text[0]}", Condition(column, "range", high=cuts[0], high_closed=not left))]
    for i in range(len(cuts) - 1):
        label = f"{text[i]} to < {text[i + 1]}" if left else f"> {text[i]} to {text[i + 1]}"
        out.append((label, Condition(column, "range", low=cuts[i], high=cuts[i + 1], low_closed=left, high_closed=not left)))
    out.append((f"≥ {text[-1]}" if left else f"> {text[-1]}", Condition(column, "range", low=cuts[-1], low_closed=left)))
    return out


def _measure(part, columns: _Columns) -> Measure:
    if not isinstance(part, dict) or set(part) - {"statistic", "column"}:
        raise QueryError('Each measure is an object: {"statistic": ..., "column": ...}.')
    statistic = part.get("statistic")
    if statistic not in STATISTICS:
        raise QueryError(f"A measure's statistic is one of: {', '.join(STATISTICS)}.")
    if statistic == COUNT:
        if part.get("column") is not None:
            raise QueryError(
                "A count counts rows; it names no column (a count of a column's values is its 'distinct' or a filter 'present')."
            )
        return Measure(COUNT)
    wanted = None if statistic == "distinct" else (NUMBER, BOOL)
    return Measure(statistic, columns.need(part.get("column"), f"the {statistic}", wanted))


def _filter(part, columns: _Columns) -> Condition:
    if not isinstance(part, dict) or set(part) - {"column", "op", "value"}:
        raise QueryError('Each filter is an object: {"column": ..., "op": ..., "value": ...}.')
    column = columns.need(part.get("column"), "a filter")
    kind = columns.kinds[column]
    op = part.get("op")
    if op not in OPERATORS:
        raise QueryError(f"A filter's op is one of: {', '.join(OPERATORS)}.")
    value = part.get("value")
    if op in ("missing", "present"):
        return Condition(column, op)
    if op in ("==", "!=", "in", "not in"):
        values = value if op in ("in", "not in") else [value]
        values = _list(values, "filter values", MAX_VALUES)
        if not values:
            raise QueryError(f"Give the values for the filter on '{_short(column)}'.")
        parsed = tuple(dict.fromkeys(_value(v, kind, column) for v in values))
        return Condition(column, "in" if op in ("==", "in") else "not in", parsed)
    if kind not in (NUMBER, DATE):
        raise QueryError(f"'{op}' compares numbers or dates; '{_short(column)}' holds {kind}.")
    if op == "between":
        pair = _list(value, "between's bounds", 2)
        if len(pair) != 2:
            raise QueryError("'between' takes [low, high] (both included).")
        low, high = (_value(v, kind, column) for v in pair)
        if high < low:
            raise QueryError("'between' takes [low, high] with low ≤ high.")
        return Condition(column, "range", low=low, high=high, low_closed=True, high_closed=True)
    bound = _value(value, kind, column)
    if op in ("<", "<="):
        return Condition(column, "range", high=bound, high_closed=op == "<=")
    return Condition(column, "range", low=bound, low_closed=op == ">=")


def _predictor(part, columns: _Columns) -> Predictor:
    if isinstance(part, str):
        part = {"column": part}
    if not isinstance(part, dict) or set(part) - {"column", "values"}:
        raise QueryError('Each predictor is a column name or {"column": ..., "values": [...]} (a categorical one).')
    if "values" in part:
        column = columns.need(part.get("column"), "a predictor")
        values = _list(part["values"], "values", 50)
        if len(values) < 2:
            raise QueryError("A categorical predictor declares at least two values (the first is the reference).")
        parsed = tuple(_value(v, columns.kinds[column], column) for v in values)
        if len(set(parsed)) != len(parsed):
            raise QueryError("A predictor's value is declared twice.")
        return Predictor(column, parsed)
    return Predictor(columns.need(part.get("column"), "a predictor", (NUMBER, BOOL)))


def _epsilon(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 10:
        raise QueryError("'epsilon' is a number above 0 and at most 10.")
    return float(value)


def _bounds(value, columns: _Columns) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_MEASURES:
        raise QueryError("'bounds' maps a column to [low, high].")
    out = {}
    for column, pair in value.items():
        column = columns.need(column, "bounds", (NUMBER, BOOL))
        pair = _list(pair, "bounds", 2)
        if len(pair) != 2:
            raise QueryError(f"The bounds of '{_short(column)}' are [low, high].")
        low, high = (_value(v, NUMBER, column) for v in pair)
        if not low < high:
            raise QueryError(f"The bounds of '{_short(column)}' need low < high.")
        out[column] = (low, high)
    return out


def _filter_json(condition: Condition, kind: str) -> dict:
    if condition.kind in ("missing", "present"):
        return {"column": condition.column, "op": condition.kind}
    if condition.kind in ("in", "not in"):
        return {"column": condition.column, "op": condition.kind, "value": [_plain(v, kind) for v in condition.values]}
    if condition.low is not None and condition.high is not None:
        return {"column": condition.column, "op": "between", "value": [_plain(condition.low, kind), _plain(condition.high, kind)]}
    if condition.high is not None:
        return {"column": condition.column, "op": "<=" if condition.high_closed else "<", "value": _plain(condition.high, kind)}
    return {"column": condition.column, "op": ">=" if condition.low_closed else ">", "value": _plain(condition.low, kind)}


def _filter_words(condition: Condition, kind: str) -> str:
    document = _filter_json(condition, kind)
    value = document.get("value")
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return f"{condition.column} {document['op']}{'' if value is None else ' ' + str(value)}"
