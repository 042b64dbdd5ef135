"""What every generator shares: the plan of which columns it models and how the others are filled, and
the interface (fit on a table, sample N rows, save to JSON and load back).

Direct identifiers and ID-like columns are never modelled: they are re-generated as fresh surrogates
(sequences, or Faker-style values that come from no real record). Free text is not modelled either;
all-null and constant columns are filled as they were; categories with very many levels keep their
common levels and fold the rare ones (which single people out) into "(other)". Every such decision is
a note in the report. A free-text column can instead be written by a language model trained here, on the
text with its identifiers replaced by tags (`text.py`), when the person who runs the copy asks for it.
"""

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

MAX_LEVELS = 200  # levels a categorical column keeps; the rest fold into OTHER
MIN_LEVEL_COUNT = 5  # a level seen fewer times than this is folded too
OTHER = "(other)"
SURROGATE_ENTITIES = {"PERSON": "name", "PHONE_NUMBER": "phone", "EMAIL_ADDRESS": "email", "ADDRESS": "address"}


def as_numbers(values: pd.Series, kind: str) -> np.ndarray:
    """Numbers, dates and datetimes as floats (dates as nanoseconds), missing as NaN."""
    if kind in ("date", "datetime"):
        stamps = pd.to_datetime(values, errors="coerce")
        numbers = stamps.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        numbers[stamps.isna().to_numpy()] = np.nan
        return numbers
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def from_numbers(numbers: np.ndarray, kind: str, decimals: int = 0) -> pd.Series:
    """The inverse of `as_numbers`: whole numbers, floats rounded as the column was written, dates, datetimes."""
    if kind == "int":
        return pd.Series(np.round(numbers), dtype="float64").astype("Int64")
    if kind == "float":
        return pd.Series(np.round(numbers, decimals), dtype="float64")
    unit = 86_400e9 if kind == "date" else 1e9
    return pd.Series(pd.to_datetime(np.round(numbers / unit) * unit, unit="ns"))


def as_booleans(values: pd.Series) -> pd.Series:
    return values.map({"True": True, "False": False, "true": True, "false": False}).astype("boolean")


class SynthesisError(ValueError):
    """A table or request the generators cannot work with; the message is safe to show (no cell values)."""


@dataclass
class Plan:
    columns: list[str]
    kinds: dict[str, str]
    modelled: list[str]
    fills: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # why a column is filled instead of modelled
    numbers_from_text: list[str] = field(default_factory=list)  # text columns modelled as the numbers they hold
    texts: list[str] = field(default_factory=list)  # free-text columns written by the text model

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict) -> "Plan":
        return cls(**document)

    def real_values(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The real table as the report compares it with the copy: every column as it is (levels not folded),
        numbers stored as text read as the numbers the generator modelled."""
        out = frame.reset_index(drop=True).copy()
        for name in self.numbers_from_text:
            out[name] = read_numbers(out[name])
        return out

    def complete(self, modelled: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """The sampled columns plus the filled ones, in the real table's order."""
        out = {}
        for name in self.columns:
            if name in modelled.columns:
                out[name] = modelled[name].reset_index(drop=True)
            else:
                out[name] = _fill(self.fills[name], rows, rng)
        return pd.DataFrame(out, index=pd.RangeIndex(rows))


def _fill(fill: dict, rows: int, rng: np.random.Generator) -> pd.Series:
    how = fill["how"]
    if how in ("null", "text"):  # text: written by the text model once the rows are sampled
        return pd.Series([None] * rows, dtype="object")
    if how == "constant":
        values = pd.Series([fill["value"]] * rows, dtype="object")
        return values.mask(rng.uniform(size=rows) < fill.get("missing", 0.0))
    if how == "sequence":
        return pd.Series(np.arange(1, rows + 1), dtype="Int64")
    if how == "surrogate":
        from workbench.privacy.operators import _surrogates

        words = rng.integers(0, 2**32, size=(rows, 8), dtype=np.uint64).astype(np.uint32)
        return pd.Series(_surrogates(fill["kind"], words), dtype="object")
    if how == "dates":
        low, high = pd.Timestamp(fill["low"]).value, pd.Timestamp(fill["high"]).value
        stamps = pd.to_datetime(rng.integers(low, high + 1, size=rows), unit="ns")
        return pd.Series(stamps.normalize() if fill.get("kind") == "date" else stamps)
    if how == "code":
        width = max(6, len(str(rows)) + 2)
        numbers = rng.choice(10**width, size=rows, replace=False)  # distinct within the table
        return pd.Series([f"SYN{n:0{width}d}" for n in numbers], dtype="object")
    raise ValueError(f"unknown fill {how!r}")


MODEL, LEAVE_OUT, WRITE = "model", "leave out", "write text"
CHOICES = (MODEL, LEAVE_OUT, WRITE)
TEXT_REASON = "free text, written by a language model trained here on the text with its identifiers replaced by tags"


def make_plan(
    frame: pd.DataFrame, schema: list[dict], scan: dict | None = None, choices: dict[str, str] | None = None
) -> tuple[Plan, pd.DataFrame]:
    """Decide per column what the generator models; returns the plan and the table as the model will see it
    (rare levels folded). `choices` are the person's changes to that plan, column by column: "model" a column the
    plan would fill (never a direct identifier by the scan, nor free text), "leave out" one it would model
    (left empty), or "write text" a free-text column (written by the text model instead of left empty)."""
    if frame.empty or len(frame) < 2:
        raise SynthesisError(f"A synthetic copy needs at least 2 rows to learn from; this table has {len(frame)}.")
    choices = check_choices(choices or {}, list(frame.columns), scan)
    plan, table = _plan(frame, schema, scan, forced={c for c, how in choices.items() if how == MODEL})
    for name, how in choices.items():
        if how != WRITE:
            continue
        if plan.reasons.get(name, "").startswith("free text"):
            plan.texts.append(name)
            plan.fills[name] = {"how": "text"}
            plan.reasons[name] = TEXT_REASON
            plan.notes = [n for n in plan.notes if not n.startswith(f"{name}: free text is not modelled")]
            plan.notes.append(
                f"{name}: free text, written by the text model (trained on the text with every identifier replaced by a tag)."
            )
        else:
            raise SynthesisError(f"'{name}' is not free text by this table's scan, so no text model writes it; model it or leave it out.")
    for name, how in choices.items():
        if how == LEAVE_OUT and name in plan.modelled:
            plan.modelled.remove(name)
            plan.fills[name] = {"how": "null"}
            if name in plan.numbers_from_text:
                plan.numbers_from_text.remove(name)
            table[name] = frame[name]
            plan.reasons[name] = "left out by the person who ran it"
            plan.notes.append(f"{name}: left out of the model on request; the synthetic column is empty.")
    return plan, table


def check_choices(choices: dict[str, str], columns: list[str], scan: dict | None) -> dict[str, str]:
    """The per-column changes, checked: every problem named in one message, in the words of the page."""
    if not isinstance(choices, dict):
        raise SynthesisError('Column choices must map column names to "model" or "leave out".')
    found = {c["name"]: c for c in (scan or {}).get("columns", [])}
    problems = []
    for name, how in choices.items():
        if name not in columns:
            problems.append(f"'{name}' is not a column of this table.")
        elif how not in CHOICES:
            problems.append(f'\'{name}\': the choice must be "model", "leave out" or "write text", not {str(how)[:40]!r}.')
        elif how == MODEL and found.get(name, {}).get("kind") == "direct_identifier":
            problems.append(f"'{name}' is a direct identifier by the scan and is never modelled; anonymise it first.")
        elif how == MODEL and found.get(name, {}).get("kind") == "free_text":
            problems.append(
                f"'{name}' is free text and is never modelled as categories: it would copy sentences about real people. "
                '"write text" has a language model write new text for it.'
            )
        elif how == WRITE and found.get(name, {}).get("kind") == "direct_identifier":
            problems.append(f"'{name}' is a direct identifier by the scan; no text is written for it.")
    if problems:
        raise SynthesisError(" ".join(problems))
    return dict(choices)


def _plan(frame: pd.DataFrame, schema: list[dict], scan: dict | None, forced: set[str]) -> tuple[Plan, pd.DataFrame]:
    types = {column["name"]: column["type"] for column in schema}
    found = {column["name"]: column for column in (scan or {}).get("columns", [])}
    plan = Plan(columns=list(frame.columns), kinds={}, modelled=[])
    table = frame.copy()
    for name in frame.columns:
        kind = types.get(name, "text")
        plan.kinds[name] = kind
        values = frame[name]
        present = values.dropna()
        scanned = found.get(name, {})
        if present.empty:
            plan.fills[name] = {"how": "null"}
            plan.notes.append(f"{name}: every value is missing; the synthetic column is empty too.")
            plan.reasons[name] = "every value is missing"
        elif scanned.get("kind") == "direct_identifier" or (kind == "id" and name not in forced):
            plan.fills[name] = _identifier_fill(kind, scanned.get("entity"), present)
            plan.notes.append(
                f"{name}: an identifier, not modelled; filled with fresh {plan.fills[name]['how']} values that belong to no one."
            )
            if scanned.get("kind") == "direct_identifier":
                plan.reasons[name] = f"an identifier by the scan ({scanned.get('entity') or 'its name and values'})"
            else:
                plan.reasons[name] = "an identifier by its type"
        elif scanned.get("kind") == "free_text" or (
            kind == "text" and name not in forced and present.astype(str).str.split().str.len().mean() >= 5
        ):
            plan.fills[name] = {"how": "null"}
            plan.notes.append(f"{name}: free text is not modelled (it would copy sentences about real people); left empty.")
            plan.reasons[name] = "free text (not modelled: it would copy sentences about real people)"
        elif kind in ("category", "text") and (numbers := _measurements(values, present)) is not None:
            # a measurement written as text (a lab value with "." or "<5" among the numbers) is modelled as the number it is
            table[name], plan.kinds[name] = numbers, "float"
            plan.modelled.append(name)
            unreadable = int(numbers.isna().sum() - values.isna().sum())
            plan.notes.append(
                f"{name}: numbers stored as text; modelled as numbers"
                + (f" ({unreadable:,} values that are not numbers read as missing)." if unreadable else ".")
            )
            plan.numbers_from_text.append(name)
        elif (
            scan is None
            and name not in forced
            and kind in ("category", "text")
            and present.nunique() > 20
            and present.nunique() > 0.5 * len(present)
        ):
            # without a scan, mostly unique short text (names, codes, addresses) is taken for an identifier
            plan.fills[name] = {"how": "code"}
            plan.notes.append(
                f"{name}: mostly unique values and no scan of the table, treated as an identifier: not modelled; filled with fresh codes."
            )
            plan.reasons[name] = "mostly unique values, no scan: taken for an identifier"
        elif present.nunique() == 1:
            value = present.iloc[0]
            plan.fills[name] = {
                "how": "constant",
                "value": value.item() if hasattr(value, "item") else value,
                "missing": float(values.isna().mean()),
            }
            plan.notes.append(f"{name}: one value throughout; kept as that constant.")
            plan.reasons[name] = "one value throughout"
        elif kind in ("category", "text", "bool", "id") and not (kind == "id" and pd.api.types.is_numeric_dtype(values)):
            folded, note = _fold_levels(values)
            table[name] = folded
            plan.kinds[name] = "bool" if kind == "bool" else "category"
            if name in forced:
                plan.notes.append(f"{name}: modelled on request, as categories (levels seen fewer than {MIN_LEVEL_COUNT} times folded).")
            plan.modelled.append(name)
            if note:
                plan.notes.append(f"{name}: {note}")
        else:
            if kind == "id":  # a numeric identifier modelled on request is a number like any other
                plan.kinds[name] = "int" if pd.api.types.is_integer_dtype(values) else "float"
                plan.notes.append(f"{name}: modelled on request, as a number.")
            plan.modelled.append(name)
    return plan, table


def _measurements(values: pd.Series, present: pd.Series) -> pd.Series | None:
    """The column as numbers when it holds numbers written as text (at least 95 % of its values read as one and
    they take more than a handful of values), else None. Only for text: a numeric column is returned as is."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return None
    from workbench.datasets.ingest import MISSING_MARKERS

    text = present.astype(str).str.strip()
    text = text[~text.str.lower().isin(MISSING_MARKERS)]  # SAS's ".", "NA", "n/a": missing, not a word
    numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    if text.empty or numbers.notna().mean() < 0.95 or numbers.nunique() <= 20 or text.str.match(r"^[-+]?0\d").any():  # 02134 is a code
        return None
    return read_numbers(values)


def read_numbers(values: pd.Series) -> pd.Series:
    """Numbers written as text as floats (thousands commas dropped); what does not read as a number is missing."""
    out = pd.to_numeric(values.astype("string").str.strip().str.replace(",", "", regex=False), errors="coerce")
    return pd.Series(out.to_numpy(dtype=float, na_value=np.nan), index=values.index)


def _identifier_fill(kind: str, entity: str | None, present: pd.Series) -> dict:
    """Fresh values of the column's own type: dates drawn evenly over its range (a date of birth), numbers
    counted 1, 2, 3…, text as Faker-style surrogates for names and contacts or as codes."""
    if kind in ("date", "datetime") or pd.api.types.is_datetime64_any_dtype(present):
        stamps = pd.to_datetime(present, errors="coerce").dropna()
        return {"how": "dates", "low": stamps.min().isoformat(), "high": stamps.max().isoformat(), "kind": kind}
    if pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present):
        return {"how": "sequence"}
    if entity in SURROGATE_ENTITIES:
        return {"how": "surrogate", "kind": SURROGATE_ENTITIES[entity]}
    return {"how": "code"}


def _fold_levels(values: pd.Series) -> tuple[pd.Series, str]:
    text = values.astype("string")
    counts = text.value_counts(dropna=True)
    keep = counts[counts >= MIN_LEVEL_COUNT].index[:MAX_LEVELS]
    if len(keep) == len(counts):
        return values, ""
    folded = text.where(text.isin(keep) | text.isna(), OTHER)
    rare = len(counts) - len(keep)
    return folded, (
        f"{len(counts):,} levels; the {len(keep):,} seen at least {MIN_LEVEL_COUNT} times are kept and {rare:,} rarer ones "
        f"(covering {int((~text.isin(keep) & text.notna()).sum()):,} rows) are folded into '{OTHER}'."
    )


class Generator:
    """Fit on a table (as `make_plan` prepared it), sample rows, save to JSON and load back."""

    method = ""

    def fit(self, frame: pd.DataFrame, plan: Plan, *, seed: int = 0) -> None:
        raise NotImplementedError

    def sample(self, rows: int, *, seed: int = 0) -> pd.DataFrame:
        raise NotImplementedError

    def to_json(self) -> dict:
        raise NotImplementedError
