"""The form of the answer a question asks for, and the check that a result has it.

Questions often name their answer's form: `@mean_age[value]`, `@city[name] @count[number]`, "rounded to two
decimals". A small model is poor at printing such a form exactly, and good at filling a dict, so the model is asked
for `result = {"mean_age": ..., "count": ...}` with exactly those names, and the worker writes the answer out in the
form asked for. `check` says, in words the model can act on, what is missing or wrong; the interpreter sends that
back as a repair.

    >>> form = AnswerForm.of("Mean age? Round to two decimals. Answer format: @mean_age[value].")
    >>> form.names, form.decimals
    (['mean_age'], 2)
    >>> form.render({"mean_age": 41.2371})
    '@mean_age[41.24]'
"""

import math
import re
from dataclasses import dataclass, field

_PLACEHOLDER = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)\[([^\]]*)\]")
_WORDS = {"zero": 0, "no": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_DECIMALS = re.compile(
    r"(?:round(?:ed|ing)?\s+(?:it\s+|them\s+|all\s+\w+\s+|each\s+)?(?:to|at)\s+|with\s+|to\s+|,\s*|\(\s*)"
    r"(zero|no|one|two|three|four|five|six|\d)\s+decimal(?:\s+places?|s)?",
    re.I,
)
_WHOLE = re.compile(r"(?:nearest\s+(?:whole\s+)?(?:number|integer)|round(?:ed)?\s+to\s+(?:an?\s+)?(?:whole|integer))", re.I)


@dataclass
class AnswerForm:
    """The names the answer must carry (in order), what each placeholder said, and the rounding the question asks
    for when it asks for one rounding only."""

    names: list[str] = field(default_factory=list)
    hints: dict[str, str] = field(default_factory=dict)
    decimals: int | None = None
    per_name_decimals: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, question: str) -> "AnswerForm":
        form = cls()
        for name, hint in _PLACEHOLDER.findall(question):
            if name not in form.hints:
                form.names.append(name)
                form.hints[name] = hint.strip()
                found = _decimals_in(hint)
                if found is not None:
                    form.per_name_decimals[name] = found
        outside = _PLACEHOLDER.sub(" ", question)
        asked = {_digits(m.group(1)) for m in _DECIMALS.finditer(outside)}
        if _WHOLE.search(outside):
            asked.add(0)
        if len(asked) == 1:
            form.decimals = asked.pop()
        return form

    def __bool__(self) -> bool:
        return bool(self.names)

    def decimals_for(self, name: str) -> int | None:
        return self.per_name_decimals.get(name, self.decimals)

    def instruction(self) -> str:
        """The line the prompt gains: the dict to fill, with the names in order."""
        if not self.names:
            return ""
        keys = ", ".join(f'"{name}": ...' for name in self.names)
        rounding = f" Round numbers to {self.decimals} decimals." if self.decimals is not None else ""
        return (
            f"Answer with `result = {{{keys}}}` — a dict with exactly these {len(self.names)} keys, in this order, each a "
            f"single number or short text (not a Series or DataFrame).{rounding}"
        )

    def check(self, record: dict | None) -> str:
        """What is wrong with a result for this form, in words for the model; empty when nothing is."""
        if not self.names:
            return ""
        wanted = ", ".join(f'"{name}"' for name in self.names)
        if record is None:
            return f"The result must be a dict with the keys {wanted}: `result = {{{', '.join(f'{chr(34)}{n}{chr(34)}: ...' for n in self.names)}}}`."
        missing = [name for name in self.names if name not in record]
        if missing:
            return (
                f"The result lacks {', '.join(repr(m) for m in missing)}. Keep every part of the question: the dict needs "
                f"exactly the keys {wanted}."
            )
        empty = [name for name in self.names if _is_missing(record[name])]
        if empty:
            return (
                f"The value of {', '.join(repr(e) for e in empty)} came out empty (NaN or None): the filter matched no rows "
                "or the column has missing values. Check the exact spelling of the values you filter on (see the column's "
                "values above) and drop missing values of the columns you use."
            )
        return ""

    def render(self, record: dict) -> str:
        """The answer in the form asked for: `@name[value]` for each name, in order."""
        return " ".join(f"@{name}[{_format(record.get(name), self.decimals_for(name))}]" for name in self.names)


def record_of(result: dict | None) -> dict | None:
    """The named answers of a sandbox result (a dict the code assigned to `result`), or None."""
    if not result or result.get("kind") != "table" or not result.get("record"):
        return None
    return {str(row[0]): row[1] for row in result["rows"]}


def _norm(label) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(label).lower()).strip("_")


def fill(form: AnswerForm, result: dict | None) -> dict | None:
    """The result as the form's named answers, when it can be read as them without guessing: a dict with those keys
    (in any case or spelling of separators), a list with one value per name, one value for a one-name form, or a
    Series whose labels are the names ('non-USA' for `non_usa`). None when it cannot."""
    if not form or not result:
        return None
    names = form.names
    record = record_of(result)
    if record is not None:
        if all(name in record for name in names):
            return {name: record[name] for name in names}
        loose = {_norm(key): value for key, value in record.items()}
        if all(_norm(name) in loose for name in names):
            return {name: loose[_norm(name)] for name in names}
        if list(record) == [str(i) for i in range(len(names))]:  # a list or tuple: one value per name, in order
            return dict(zip(names, record.values(), strict=True))
        return record
    kind = result.get("kind")
    if kind == "value" and len(names) == 1:
        return {names[0]: result.get("value")}
    if kind == "table" and result.get("index_columns") == 1 and len(result.get("columns", [])) == 2:
        rows = result.get("rows", [])
        labels = {_norm(row[0]): row[1] for row in rows}
        if rows and all(_norm(name) in labels for name in names):
            return {name: labels[_norm(name)] for name in names}
    if kind == "table" and len(names) == 1 and len(result.get("rows", [])) == 1 and len(result["rows"][0]) == 1:
        return {names[0]: result["rows"][0][0]}
    return None


def _digits(word: str) -> int:
    return _WORDS[word.lower()] if word.lower() in _WORDS else int(word)


def _decimals_in(text: str) -> int | None:
    match = _DECIMALS.search(text) or re.search(r"(zero|one|two|three|four|five|six|\d)\s+decimal", text, re.I)
    if match:
        return _digits(match.group(1))
    if _WHOLE.search(text):
        return 0
    return None


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip())


def _format(value, decimals: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if decimals is not None:
            return f"{value:.{decimals}f}"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}" if abs(value) >= 1e-4 else f"{value:.6g}"
    if isinstance(value, int):
        return str(value)  # a count stays a count, whatever rounding the question asks of its other numbers
    return str(value).replace("[", "(").replace("]", ")").strip()
