"""A declaration drafted from an answer on the safe tier: the analyst's question was answered by code on a synthetic or
anonymised copy; this finds the declared query that gives the same table on that copy, so that the analyst can ask
for it on the real data without writing it.

It reads the answer's shape only: rows named by values of the table's columns (a group-by, with or without
`reset_index()`, a crosstab, value counts, bands made with pd.cut) and columns whose values some statistic of those
rows reproduces. Everything here runs on the safe tier; the real data is never read. What it cannot explain it says,
and the analyst writes the declaration instead.
"""

import ast
import math
import re

import numpy as np
import pandas as pd

from workbench.releases.query import BOOL, DATE, NUMBER, TEXT, QueryError, column_kinds, numeric_view, parse, region_mask

_INTERVAL = re.compile(r"^\s*([\(\[])\s*(-?[\d.eE+\-]+|-?inf)\s*,\s*(-?[\d.eE+\-]+|inf)\s*([\)\]])\s*$")
_HINTS = {
    "count": {"count", "size", "n", "counts", "frequency", "freq", "number", "records", "rows", "patients", "people"},
    "mean": {"mean", "average", "avg"},
    "median": {"median"},
    "sum": {"sum", "total"},
    "std": {"std", "sd", "stdev"},
    "var": {"var", "variance"},
    "min": {"min", "minimum"},
    "max": {"max", "maximum"},
    "distinct": {"nunique", "distinct", "unique"},
}
MATCH_SHARE = 0.9


def infer(result: dict | None, frame: pd.DataFrame, code: str = "") -> dict:
    """The declaration (JSON form) whose table on `frame` reproduces `result`; QueryError saying why there is none."""
    if not isinstance(result, dict):
        raise QueryError("This answer has no table or number to ask for on the real data.")
    kinds = column_kinds(frame)
    filters, mask = _filters(code, frame, kinds)
    if result.get("kind") == "value":
        measure = _match_scalar(result.get("value"), frame[mask], kinds, "")
        if measure is None:
            raise QueryError("Its number is not a count or a statistic of one column that the checker can compute.")
        return _declaration([], [measure], filters)
    if result.get("kind") != "table":
        raise QueryError("Only a table or a number can be asked for on the real data; this answer is text.")
    columns = [str(c) for c in result.get("columns") or []]
    rows = result.get("rows") or []
    if not rows or result.get("total_rows", len(rows)) > len(rows):
        raise QueryError("The answer's table is empty or was cut; ask for a whole table.")
    if result.get("record"):
        return _named_answers(rows, frame[mask], kinds, filters)
    k = int(result.get("index_columns") or 0)
    if k == 0 and columns and columns[0] in ("index", "level_0") and [row[0] for row in rows] == list(range(len(rows))):
        columns, rows = columns[1:], [row[1:] for row in rows]  # the positional index the answer's table printed
    tried = [k] if k else [j for j in range(min(3, len(columns) - 1), 0, -1)]
    problems = []
    for k in tried:
        try:
            return _table(columns, rows, k, result.get("columns_name"), frame, kinds, filters, mask)
        except QueryError as problem:
            problems.append(str(problem))
    raise QueryError(problems[0] if problems else "Its rows are not groups of the table's columns.")


def _declaration(groups: list, measures: list, filters: list) -> dict:
    return {"kind": "table", "groups": groups, "measures": measures, "filters": filters, "margins": False}


def _named_answers(rows: list, frame: pd.DataFrame, kinds: dict, filters: list) -> dict:
    measures = []
    for name, value in ((row[0], row[1]) for row in rows if len(row) == 2):
        measure = _match_scalar(value, frame, kinds, str(name))
        if measure is None:
            raise QueryError(f"The answer '{str(name)[:40]}' is not a statistic the checker can compute.")
        if measure not in measures:
            measures.append(measure)
    return _declaration([], measures, filters)


def _table(columns, rows, k, axis, frame, kinds, filters, mask) -> dict:
    levels = [
        level if level in frame.columns else _column_of([row[i] for row in rows], frame, kinds) for i, level in enumerate(columns[:k])
    ]
    if not all(level in frame.columns for level in levels):
        raise QueryError("Its rows are not named by the table's columns (a group-by, a crosstab or value counts).")
    groups = [_group(level, [row[i] for row in rows], kinds[level]) for i, level in enumerate(levels)]
    masks = []
    for row in rows:
        m = mask.copy()
        for i, level in enumerate(levels):
            matched = _rows(frame[level], row[i], kinds[level])
            if matched is None:
                raise QueryError(f"The label {str(row[i])[:40]!r} does not name values of '{level}'.")
            m &= matched
        masks.append(m)
    if sum(int(m.sum()) <= 1 for m in masks) > len(masks) / 2:
        raise QueryError("Its rows are single records (row-level data), not groups; only tables of groups are released.")
    data = columns[k:]
    if axis in frame.columns and axis not in levels:
        groups.append(_group(axis, data, kinds[axis]))
        axis_masks = [_rows(frame[axis], label, kinds[axis]) for label in data]
        if any(m is None for m in axis_masks):
            raise QueryError(f"The columns of the crosstab do not name values of '{axis}'.")
        values = [(masks[r] & axis_masks[c], row[k + c]) for r, row in enumerate(rows) for c in range(len(data))]
        measure = _match_column("", values, frame, kinds, exclude=set(levels) | {axis})
        if measure is None:
            raise QueryError("The crosstab's cells are not a count or a statistic the checker can compute.")
        return _declaration(groups, [measure], filters)
    measures = []
    for position, header in enumerate(data):
        values = [(masks[r], row[k + position]) for r, row in enumerate(rows)]
        measure = _match_column(header, values, frame, kinds, exclude=set(levels))
        if measure is None:
            raise QueryError(f"The column '{header[:40]}' is not a count or a statistic of the rows its labels name.")
        if measure not in measures:
            measures.append(measure)
    return _declaration(groups, measures, filters)


# --- labels -------------------------------------------------------------------------------------------------------


def _column_of(labels: list, frame: pd.DataFrame, kinds: dict) -> str | None:
    """The column whose values the labels are, when the answer renamed its index (the fewest-valued one that holds
    every label)."""
    fits = []
    for column in frame.columns:
        if kinds[column] not in (TEXT, BOOL, NUMBER) or frame[column].nunique() > max(200, 2 * len(labels)):
            continue
        if all(label is not None and (m := _rows(frame[column], label, kinds[column])) is not None and m.any() for label in labels):
            fits.append((frame[column].nunique(), str(column)))
    return min(fits)[1] if fits else None


def _group(column: str, labels: list, kind: str) -> dict:
    distinct = list(dict.fromkeys(labels))
    intervals = [_INTERVAL.match(str(label)) for label in distinct if label is not None]
    if kind in (NUMBER, DATE) and intervals and all(intervals):
        edges = sorted({float(m.group(g)) for m in intervals for g in (2, 3)} - {math.inf, -math.inf})
        right = all(m.group(1) == "(" and m.group(4) == "]" for m in intervals)
        low = min(float(m.group(2)) for m in intervals)
        high = max(float(m.group(3)) for m in intervals)
        cuts = [e for e in edges if low < e < high] or edges[:1]  # the outermost bands are open
        return {"column": column, "bins": [_number(e) for e in cuts], "closed": "right" if right else "left"}
    values = [_value(label, kind) for label in distinct if label is not None]
    group = {"column": column, "values": values}
    if any(label is None for label in distinct):
        group["missing"] = True
    return group


def _number(value: float):
    return int(value) if float(value).is_integer() else value


def _value(label, kind: str):
    if kind == NUMBER:
        number = _float(label)
        if number is None:
            raise QueryError(f"The label {str(label)[:40]!r} is not a number.")
        return _number(number)
    if kind == BOOL:
        return str(label).lower() in ("true", "1", "1.0")
    if kind == DATE:
        return (
            str(pd.Timestamp(label).date()) if pd.Timestamp(label) == pd.Timestamp(label).normalize() else pd.Timestamp(label).isoformat()
        )
    return str(label)


def _float(text):
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text)
    try:
        return float(str(text))
    except ValueError:
        return None


def _rows(series: pd.Series, label, kind: str) -> np.ndarray | None:
    """The rows of `series` that a printed label names (a value, a pd.cut interval, a date, a boolean)."""
    if label is None:
        return series.isna().to_numpy()
    if kind == BOOL:
        text = str(label).lower()
        if text not in ("true", "false", "1", "0", "1.0", "0.0"):
            return None
        return (series == (text in ("true", "1", "1.0"))).fillna(False).to_numpy(dtype=bool)
    if kind == NUMBER:
        numbers = numeric_view(series, kind)
        interval = _INTERVAL.match(str(label))
        with np.errstate(invalid="ignore"):
            if interval:
                low, high = float(interval.group(2)), float(interval.group(3))
                left = numbers >= low if interval.group(1) == "[" else numbers > low
                right = numbers <= high if interval.group(4) == "]" else numbers < high
                return left & right
            number = _float(label)
            return numbers == number if number is not None else None
    if kind == DATE:
        try:
            when = pd.Timestamp(label)
        except (ValueError, TypeError):
            return None
        if when.tzinfo is not None:
            when = when.tz_convert(None)
        return (numeric_view(series, kind) == float(when.as_unit("ns").value)).astype(bool)
    return series.astype("string").eq(str(label)).fillna(False).to_numpy(dtype=bool)


# --- statistics ---------------------------------------------------------------------------------------------------


def _candidates(values: pd.Series, kind: str) -> list[tuple[str, float]]:
    present = values.dropna()
    out = [("count", float(len(present)))]
    if len(present) and kind in (NUMBER, BOOL):
        numbers = present.astype(float)
        out += [("mean", float(numbers.mean())), ("median", float(numbers.median())), ("sum", float(numbers.sum()))]
        if len(numbers) > 1:
            out += [("std", float(numbers.std())), ("var", float(numbers.var()))]
        out += [("min", float(numbers.min())), ("max", float(numbers.max()))]
    if len(present):
        out.append(("distinct", float(present.nunique())))
    return out


def _close(value, candidate: float) -> bool:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(candidate):
        return False
    decimals = _decimals(value)
    tolerance = max(1e-9, 1e-9 * abs(candidate))
    if decimals is not None:
        tolerance = max(tolerance, 0.5 * 10 ** (-decimals) + 1e-12)
    return abs(value - candidate) <= tolerance


def _decimals(value) -> int | None:
    if isinstance(value, int):
        return None
    text = repr(value)
    if "e" in text or "E" in text or "." not in text:
        return None
    return min(len(text.split(".")[1]), 12)


def _hint(header: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", header.lower()))
    return {name for name, hints in _HINTS.items() if words & hints}


def _match_column(header: str, values: list, frame: pd.DataFrame, kinds: dict, *, exclude: set) -> dict | None:
    """The (statistic, column) that reproduces most of `values` (each a row mask and the answer's number), at least
    MATCH_SHARE of them; the header's words and named column narrow the search."""
    numbers = [(m, v) for m, v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numbers:
        return None
    named = [c for c in frame.columns if c not in exclude and re.search(rf"(?<![\w]){re.escape(str(c))}(?![\w])", header)]
    hinted = _hint(header)
    if all(_close(v, float(m.sum())) for m, v in numbers) and (not hinted or "count" in hinted or not named):
        return {"statistic": "count"}
    columns = sorted(named, key=lambda c: -len(str(c))) or [c for c in frame.columns if c not in exclude]
    best, best_score = None, 0.0
    for column in columns:
        scores: dict[str, int] = {}
        for mask, value in numbers:
            for statistic, candidate in _candidates(frame.loc[mask, column], kinds[column]):
                if hinted and statistic not in hinted:
                    continue
                if statistic == "count" and "count" not in hinted:
                    continue
                if _close(value, candidate):
                    scores[statistic] = scores.get(statistic, 0) + 1
        for statistic, hits in scores.items():
            score = hits / len(numbers)
            if score > best_score:
                best, best_score = {"statistic": statistic, "column": str(column)}, score
    if best is not None and best_score >= MATCH_SHARE:
        return best if best["statistic"] != "count" else {"statistic": "count"}
    return None


def _match_scalar(value, frame: pd.DataFrame, kinds: dict, name: str) -> dict | None:
    return _match_column(name, [(np.ones(len(frame), dtype=bool), value)], frame, kinds, exclude=set())


# --- filters the code applied -------------------------------------------------------------------------------------

_OPERATORS = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


def _filters(code: str, frame: pd.DataFrame, kinds: dict) -> tuple[list, np.ndarray]:
    """Row filters the code applied in the plain forms `df[df['col'] > 5]`, `df[df.col == 'x']`, `.isin([...])` and
    `df.query("col > 5")` (read from the code's syntax tree; nothing is run), and the rows they keep."""
    filters = []
    try:
        tree = ast.parse(code or "")
    except SyntaxError:
        return [], np.ones(len(frame), dtype=bool)
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Compare | ast.Call | ast.BinOp):
            filters += _conditions(node.slice, frame)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "query" and node.args:
            if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                try:
                    filters += _conditions(ast.parse(node.args[0].value, mode="eval").body, frame, bare=True)
                except SyntaxError:
                    pass
    unique = [f for i, f in enumerate(filters) if f not in filters[:i]]
    try:
        query = parse({"kind": "table", "measures": [{"statistic": "count"}], "filters": unique}, kinds)
    except QueryError:
        return [], np.ones(len(frame), dtype=bool)
    return unique, region_mask(query.filters, frame, kinds)


def _conditions(node, frame: pd.DataFrame, *, bare: bool = False) -> list[dict]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
        return _conditions(node.left, frame, bare=bare) + _conditions(node.right, frame, bare=bare)
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return [c for value in node.values for c in _conditions(value, frame, bare=bare)]
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _OPERATORS:
        column = _column(node.left, frame, bare)
        value = _constant(node.comparators[0])
        if column is not None and value is not None:
            return [{"column": column, "op": _OPERATORS[type(node.ops[0])], "value": value}]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "isin" and node.args:
        column = _column(node.func.value, frame, bare)
        values = _constant(node.args[0])
        if column is not None and isinstance(values, list):
            return [{"column": column, "op": "in", "value": values}]
    return []


def _column(node, frame: pd.DataFrame, bare: bool) -> str | None:
    if bare and isinstance(node, ast.Name) and node.id in frame.columns:
        return node.id
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value in frame.columns:
        return str(node.slice.value)
    if isinstance(node, ast.Attribute) and node.attr in frame.columns:
        return node.attr
    return None


def _constant(node):
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None
    if isinstance(value, list | tuple | set):
        return [v for v in value if isinstance(v, str | int | float | bool)]
    return value if isinstance(value, str | int | float | bool) else None
