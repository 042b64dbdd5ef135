"""De-identification operators, vectorised over a column: Python runs once per distinct value at most.

Keyed operators (hash, pseudonym, date shift) take the workspace secret, so the same input gives the
same output everywhere in one workspace, a different one in another, and cannot be recomputed
without the secret.
"""

import functools
import hashlib
import hmac

import numpy as np
import pandas as pd
from faker import Faker

REDACTED = "[REDACTED]"
SURROGATE_KINDS = ("name", "first_name", "last_name", "phone", "email", "address", "city", "company", "id")


@functools.lru_cache(maxsize=1)
def _pools() -> dict[str, np.ndarray]:
    """Surrogate parts drawn once from Faker's en_US data with a fixed seed; values pick from them by keyed hash."""
    from faker.providers.person.en_US import Provider as People

    fake = Faker("en_US")
    fake.seed_instance(20_261_123)
    return {
        "first": np.array(sorted(People.first_names)),
        "last": np.array(sorted(People.last_names)),
        "street": np.array(sorted({fake.street_name() for _ in range(4000)})),
        "city": np.array(sorted({fake.city() for _ in range(3000)})),
        "company": np.array(sorted({fake.company() for _ in range(4000)})),
        "mailbox": np.array(["mail", "post", "inbox", "letters", "box"]),
    }


def _surrogates(kind: str, words: np.ndarray) -> list[str]:
    """Surrogates for rows of keyed random words (n x 8 uint32), built with array operations."""
    pools = _pools()

    def pick(pool: str, column: int) -> pd.Series:
        choices = pools[pool]
        return pd.Series(choices[words[:, column] % len(choices)])

    def digits(column: int, low: int, span: int, width: int = 0) -> pd.Series:
        numbers = pd.Series(low + words[:, column].astype(np.int64) % span).astype(str)
        return numbers.str.zfill(width) if width else numbers

    first, last = pick("first", 0), pick("last", 1)
    builders = {
        "name": lambda: first + " " + last,
        "first_name": lambda: first,
        "last_name": lambda: last,
        "phone": lambda: digits(2, 201, 798) + "-" + digits(3, 200, 800) + "-" + digits(4, 0, 10_000, 4),
        "email": lambda: first.str.lower() + "." + last.str.lower() + digits(5, 1, 999) + "@" + pick("mailbox", 6) + ".invalid",
        "address": lambda: digits(2, 1, 9998) + " " + pick("street", 3) + ", " + pick("city", 4),
        "city": lambda: pick("city", 0),
        "company": lambda: pick("company", 0),
        "id": lambda: "ID-" + digits(2, 0, 100_000_000, 8),
    }
    return builders[kind]().tolist()


def _digest(secret: bytes, purpose: str, value: str) -> bytes:
    return hmac.new(secret, f"{purpose}\x1f{value}".encode(), hashlib.sha256).digest()


def _per_distinct(values: pd.Series, function) -> pd.Series:
    """Apply `function` to each distinct non-null value once and spread the results back."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([function(str(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object).where(codes >= 0, None)


def redact(values: pd.Series, *, replacement: str = REDACTED) -> pd.Series:
    return pd.Series(np.where(values.isna(), None, replacement), index=values.index, dtype=object)


def mask(values: pd.Series, *, keep_last: int = 4, char: str = "*") -> pd.Series:
    text = values.astype("string")
    lengths = text.str.len()
    hidden = (lengths - keep_last).clip(lower=0)
    masked = pd.Series([char * int(n) if pd.notna(n) else None for n in hidden], index=values.index, dtype="string")
    tail = text.str.slice(start=-keep_last) if keep_last else ""
    return (masked + tail).astype(object).where(text.notna(), None)


def keyed_hash(values: pd.Series, *, secret: bytes, length: int = 16) -> pd.Series:
    return _per_distinct(values, lambda v: _digest(secret, "hash", v).hex()[:length])


def pseudonym(values: pd.Series, *, secret: bytes, kind: str = "name", avoid: frozenset[str] = frozenset()) -> pd.Series:
    """A surrogate from Faker's data chosen by the keyed hash of the value: the same value gets the same surrogate
    throughout a workspace, another one in another workspace, and none can be recomputed without the secret.

    A surrogate that happens to equal a real value in `avoid` (say, another patient's name) is drawn again."""
    if kind not in SURROGATE_KINDS:
        raise ValueError(f"Unknown pseudonym kind {kind!r}; choose one of {', '.join(SURROGATE_KINDS)}.")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [str(u) for u in uniques]
    chosen = [""] * len(texts)
    pending = list(range(len(texts)))
    for attempt in range(50):
        if not pending:
            break
        keyed = b"".join(_digest(secret, f"pseudonym:{kind}:{attempt}", texts[i]) for i in pending)
        words = np.frombuffer(keyed, dtype="<u4").reshape(-1, 8)
        retry = []
        for index, candidate in zip(pending, _surrogates(kind, words)):
            if candidate in avoid:
                retry.append(index)
            else:
                chosen[index] = candidate
        pending = retry
    for index in pending:  # fifty collisions in a row: give up on realism, stay unique and keyed
        chosen[index] = f"{kind}-{_digest(secret, 'pseudonym-fallback', texts[index]).hex()[:12]}"
    mapped = np.array(chosen + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def date_shift(dates: pd.Series, subjects: pd.Series, *, secret: bytes, max_days: int = 180) -> pd.Series:
    """Move every date of a subject by the same secret offset in [-max_days, +max_days], keeping intervals."""
    if max_days < 1:
        raise ValueError("max_days must be at least 1.")
    span = 2 * max_days + 1
    offsets = _per_distinct(subjects, lambda s: int.from_bytes(_digest(secret, "date-shift", s)[:8], "big") % span - max_days)
    days = pd.to_timedelta(pd.to_numeric(offsets, errors="coerce"), unit="D")
    return pd.to_datetime(dates, errors="raise") + days


def generalize_number(values: pd.Series, *, width: float, top: float | None = None, bottom: float | None = None) -> pd.Series:
    """Bins like '30-39'; with `top`, values at or above it become e.g. '90+' (and `bottom` gives '<18')."""
    if width <= 0:
        raise ValueError("width must be positive.")
    numbers = pd.to_numeric(values, errors="raise")
    low = np.floor(numbers / width) * width
    high = low + width - (1 if float(width).is_integer() else 0)  # age bands read 30-39, not 30-40
    labels = [None if pd.isna(a) else f"{_fmt(a)}-{_fmt(b)}" for a, b in zip(low, high)]
    out = pd.Series(labels, index=values.index, dtype=object)
    if top is not None:
        out = out.where(~(numbers >= top), f"{_fmt(top)}+")
    if bottom is not None:
        out = out.where(~(numbers < bottom), f"<{_fmt(bottom)}")
    return out


def top_bottom_code(values: pd.Series, *, top: float | None = None, bottom: float | None = None) -> pd.Series:
    numbers = pd.to_numeric(values, errors="raise")
    return numbers.clip(lower=bottom, upper=top)


def generalize_postcode(values: pd.Series, *, keep: int = 3) -> pd.Series:
    text = values.astype("string").str.replace(r"\s+", "", regex=True).str.upper()
    return text.str.slice(0, keep).astype(object).where(text.notna(), None)


def generalize_date(values: pd.Series, *, to: str = "month") -> pd.Series:
    dates = pd.to_datetime(values, errors="raise")
    formats = {"month": "%Y-%m", "year": "%Y"}
    if to not in formats:
        raise ValueError("Dates generalise to 'month' or 'year'.")
    return dates.dt.strftime(formats[to]).astype(object).where(dates.notna(), None)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"
