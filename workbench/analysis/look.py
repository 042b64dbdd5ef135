"""Look before answering: what the question touches in the table, shown to the model before it writes code.

The schema gives every column a line; a small model still filters on 'male' where the table says 'Male', drops
every row with a missing value anywhere, or calls `.mean()` on text like '298[110-510]'. This step finds the columns
the question names (by name, or by a value the question quotes) and describes each closely: its type, missing
values, the exact spelling of its most common values, codes, units and date forms, and how to read numbers written
inside text. It runs on the safe tier the prompt already describes (the same values, in more detail), with our own
code, not the model's.
"""

import re

import pandas as pd

_NUMBER_START = re.compile(r"^\s*[-+]?\$?\d[\d,]*(?:\.\d+)?")
_PLAIN_NUMBER = re.compile(r"^\s*[-+]?\d+(?:\.\d+)?\s*$")
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")


def touched_columns(question: str, frame: pd.DataFrame, *, most: int = 8) -> list[str]:
    """Columns the question names, in the table's order: by name (case and separators ignored) or by a value it quotes."""
    text = question.lower()
    squashed = re.sub(r"[\s_.\-]+", " ", text)
    found = []
    for name in frame.columns:
        label = str(name).lower()
        loose = re.sub(r"[\s_.\-]+", " ", label).strip()
        if not loose:
            continue
        pattern = rf"(?<![a-z0-9]){re.escape(loose)}(?![a-z0-9])"
        if re.search(rf"(?<![a-z0-9]){re.escape(label)}(?![a-z0-9])", text) or re.search(pattern, squashed):
            found.append(name)
    quoted = {q.strip().lower() for q in re.findall(r"['\"‘’“”]([^'\"‘’“”]{1,60})['\"‘’“”]", question)}
    words = {w.lower() for w in _WORD.findall(question) if len(w) > 2}
    for name in frame.columns:
        if name in found or len(found) >= most:
            continue
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        distinct = values.dropna().astype(str).str.strip().str.lower().unique()
        if len(distinct) > 500:
            continue
        present = set(distinct)
        if quoted & present or (len(distinct) <= 60 and words & present):
            found.append(name)
    order = {name: index for index, name in enumerate(frame.columns)}
    return sorted(found[:most], key=order.get)


def look(question: str, frame: pd.DataFrame, *, values: int = 8) -> str:
    """A few lines per touched column; empty when the question names none."""
    lines = []
    for name in touched_columns(question, frame):
        lines.append(_describe(name, frame[name], values))
    if not lines:
        return ""
    return "What the question touches (look before you compute):\n" + "\n".join(lines)


def _describe(name, values: pd.Series, shown: int) -> str:
    missing = int(values.isna().sum())
    present = values.dropna()
    head = f"- `{name}`: "
    notes = [f"{missing:,} missing of {len(values):,}" + (" (drop or fill these for this column only)" if missing else "")]
    if pd.api.types.is_bool_dtype(values):
        counts = present.value_counts()
        notes.insert(0, "boolean")
        notes.append("counts " + ", ".join(f"{k}: {v:,}" for k, v in counts.items()))
    elif pd.api.types.is_numeric_dtype(values):
        distinct = present.nunique()
        integral = bool(len(present)) and bool((present == present.round()).all())
        notes.insert(0, "integer numbers" if integral else "decimal numbers")
        if len(present):
            notes.append(f"min {_short(present.min())}, median {_short(present.median())}, max {_short(present.max())}")
        if integral and distinct <= 12:
            counts = present.value_counts().sort_index()
            notes.append("a code with values " + ", ".join(f"{_short(k)} ({v:,} rows)" for k, v in counts.items()))
    elif pd.api.types.is_datetime64_any_dtype(values):
        notes.insert(0, "datetime (use .dt.year, .dt.month)")
        if len(present):
            notes.append(f"from {present.min()} to {present.max()}")
    else:
        text = present.astype(str)
        sample = text.head(2000)
        if len(present) and all(hasattr(v, "year") and hasattr(v, "month") for v in present.head(50)):
            notes.insert(0, "dates (Python date objects: convert with pd.to_datetime(df[...]) before .dt.year)")
            notes.append(f"from {present.min()} to {present.max()}")
            return head + "; ".join(notes)
        notes.insert(0, "text")
        distinct = text.value_counts()
        notes.append(f"{len(distinct):,} distinct")
        if len(distinct) == len(text) and len(text) > shown:  # names, ids: no value is more common than another
            notes.append("every value different, e.g. " + ", ".join(repr(v) for v in text.head(3)))
        else:
            listing = ", ".join(f"{value!r} ({count:,})" for value, count in distinct.head(shown).items())
            notes.append(("values " if len(distinct) <= shown else "most common ") + listing)
        if len(sample) and sample.str.match(_DATE_TEXT).mean() > 0.9:
            notes.append("dates written as text: convert with pd.to_datetime(df[...]) first")
        elif len(sample) and sample.str.match(_PLAIN_NUMBER).mean() > 0.8:
            notes.append("numbers stored as text: convert with pd.to_numeric(df[...], errors='coerce')")
        elif len(sample) and sample.str.match(_NUMBER_START).mean() > 0.8:
            notes.append(
                f"text that starts with a number: for the number use df[{str(name)!r}].str.extract(r'^\\s*([-+]?[\\d.]+)')[0].astype(float)"
            )
        if len(sample) and (sample != sample.str.strip()).any():
            notes.append("some values have spaces around them: compare after .str.strip()")
        if len(sample) and sample.str.contains(", ").mean() > 0.05:
            notes.append("some values list several items separated by ', '")
    return head + "; ".join(notes)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
