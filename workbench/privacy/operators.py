"""De-identification operators, vectorised over a column: Python runs once per distinct value at most.

Keyed operators (hash, pseudonym, date shift) take the workspace secret, so the same input gives the
same output everywhere in one workspace, a different one in another, and cannot be recomputed
without the secret.

`encrypt` is the reversible one: Presidio's encrypt operator (AES with a random IV) under a key of the dataset's own,
so that the data owner — and no one else — can turn a pseudonym back into the value it stands for (`decrypt`).
"""

import base64
import functools
import hashlib
import hmac

import numpy as np
import pandas as pd
from faker import Faker

REDACTED = "[REDACTED]"
ENCRYPTED_PREFIX = "enc:"
SURROGATE_KINDS = ("name", "first_name", "last_name", "phone", "email", "address", "city", "company", "id")


@functools.cache
def _pool(name: str) -> np.ndarray:
    """Surrogate parts drawn once per process from Faker's en_US data with a fixed seed; values pick from them by keyed hash."""
    from faker.providers.person.en_US import Provider as People

    if name == "first":
        return np.array(sorted(People.first_names))
    if name == "last":
        return np.array(sorted(People.last_names))
    if name == "mailbox":
        return np.array(["mail", "post", "inbox", "letters", "box"])
    fake = Faker("en_US")
    fake.seed_instance(20_261_123)
    draw = {"street": (fake.street_name, 4000), "city": (fake.city, 3000), "company": (fake.company, 4000)}[name]
    return np.array(sorted({draw[0]() for _ in range(draw[1])}))


def _surrogates(kind: str, words: np.ndarray) -> list[str]:
    """Surrogates for rows of keyed random words (n x 8 uint32), built with array operations."""

    def pick(pool: str, column: int) -> pd.Series:
        choices = _pool(pool)
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
    return hmac.digest(secret, f"{purpose}\x1f{value}".encode(), "sha256")


def _digests(secret: bytes, purpose: str, texts: list[str]) -> list[bytes]:
    """HMAC-SHA256 of many values under one purpose, byte for byte what `hmac.digest` gives (a test checks).

    RFC 2104's definition with the two padded-key states hashed once and copied per value, as OpenSSL
    does inside; `hmac.digest` would redo that key setup for every value, which costs 2.5 times more."""
    key = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    key = key.ljust(64, b"\0")
    inner_start = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer_start = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    inner_start.update(f"{purpose}\x1f".encode())
    out = []
    for text in texts:
        inner, outer = inner_start.copy(), outer_start.copy()
        inner.update(text.encode())
        outer.update(inner.digest())
        out.append(outer.digest())
    return out


def _keyed_words(secret: bytes, purpose: str, texts: list[str]) -> np.ndarray:
    """Eight keyed pseudo-random 32-bit words per value (keyed BLAKE2b, a PRF about three times cheaper than HMAC
    in Python), for choices that are never shown as hashes: which surrogate, which date offset."""
    key = hmac.digest(secret, f"prf\x1f{purpose}".encode(), "sha256")  # a key per purpose, derived from the secret
    keyed = b"".join([hashlib.blake2b(text.encode(), key=key, digest_size=32).digest() for text in texts])
    return np.frombuffer(keyed, dtype="<u4").reshape(-1, 8)


def _distinct(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes per row (-1 for missing) and the distinct values as text."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object).astype(str).tolist()


def _spread(codes: np.ndarray, mapped: list, index: pd.Index) -> pd.Series:
    return pd.Series(np.array([*mapped, None], dtype=object)[codes], index=index, dtype=object)


def redact(values: pd.Series, *, replacement: str = REDACTED) -> pd.Series:
    return pd.Series(np.where(values.isna(), None, replacement), index=values.index, dtype=object)


def mask(values: pd.Series, *, keep_last: int = 4, char: str = "*") -> pd.Series:
    codes, texts = _distinct(values)
    unique = pd.Series(texts, dtype=object)
    hidden = (unique.str.len() - keep_last).clip(lower=0)
    tail = unique.str.slice(start=-keep_last) if keep_last else ""
    return _spread(codes, (pd.Series(char, index=unique.index).str.repeat(hidden) + tail).tolist(), values.index)


def keyed_hash(values: pd.Series, *, secret: bytes, length: int = 16) -> pd.Series:
    codes, texts = _distinct(values)
    return _spread(codes, [digest.hex()[:length] for digest in _digests(secret, "hash", texts)], values.index)


def pseudonym(values: pd.Series, *, secret: bytes, kind: str = "name", avoid: frozenset[str] = frozenset()) -> pd.Series:
    """A surrogate from Faker's data chosen by the keyed hash of the value: the same value gets the same surrogate
    throughout a workspace, another one in another workspace, and none can be recomputed without the secret.

    A surrogate that happens to equal a real value in `avoid` (say, another patient's name) is drawn again."""
    if kind not in SURROGATE_KINDS:
        raise ValueError(f"Unknown pseudonym kind {kind!r}; choose one of {', '.join(SURROGATE_KINDS)}.")
    codes, texts = _distinct(values)
    chosen = [""] * len(texts)
    pending = list(range(len(texts)))
    for attempt in range(50):
        if not pending:
            break
        words = _keyed_words(secret, f"pseudonym:{kind}:{attempt}", [texts[i] for i in pending])
        retry = []
        for index, candidate in zip(pending, _surrogates(kind, words)):
            if candidate in avoid:
                retry.append(index)
            else:
                chosen[index] = candidate
        pending = retry
    for index in pending:  # fifty collisions in a row: give up on realism, stay unique and keyed
        chosen[index] = f"{kind}-{_digest(secret, 'pseudonym-fallback', texts[index]).hex()[:12]}"
    return _spread(codes, chosen, values.index)


def date_shift(dates: pd.Series, subjects: pd.Series, *, secret: bytes, max_days: int = 180) -> pd.Series:
    """Move every date of a subject by the same secret offset in [-max_days, +max_days], keeping intervals."""
    if max_days < 1:
        raise ValueError("max_days must be at least 1.")
    span = 2 * max_days + 1
    codes, texts = _distinct(subjects)
    words = _keyed_words(secret, "date-shift", texts).astype(np.uint64)
    offsets = np.append(((words[:, 0] << np.uint64(32) | words[:, 1]) % np.uint64(span)).astype(np.int64) - max_days, 0)
    days = pd.to_timedelta(np.where(codes >= 0, offsets[codes], np.nan), unit="D")
    return pd.to_datetime(dates, errors="raise") + days


def generalize_number(values: pd.Series, *, width: float, top: float | None = None, bottom: float | None = None) -> pd.Series:
    """Bins like '30-39'; with `top`, values at or above it become e.g. '90+' (and `bottom` gives '<18')."""
    if width <= 0:
        raise ValueError("width must be positive.")
    numbers = pd.to_numeric(values, errors="raise")
    low = np.floor(numbers / width) * width
    upper = width - (1 if float(width).is_integer() else 0)  # age bands read 30-39, not 30-40
    codes, bins = pd.factorize(low, use_na_sentinel=True)  # one label per bin, not per cell
    labels = [f"{_fmt(a)}-{_fmt(a + upper)}" for a in bins]
    out = _spread(codes, labels, values.index)
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
    if to not in ("month", "year"):
        raise ValueError("Dates generalise to 'month' or 'year'.")
    dates = pd.to_datetime(values, errors="raise")
    # format each distinct month (or year) once, not each cell
    periods = dates.dt.year * 100 + dates.dt.month if to == "month" else dates.dt.year
    codes, distinct = pd.factorize(periods, use_na_sentinel=True)
    labels = [f"{int(p) // 100:04d}-{int(p) % 100:02d}" if to == "month" else f"{int(p):04d}" for p in distinct]
    return _spread(codes, labels, values.index)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _seal(key: bytes, token: str) -> str:
    mac = hmac.new(hmac.new(key, b"pseudonym mac", hashlib.sha256).digest(), token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:12]).decode()


def encrypt(values: pd.Series, *, key: bytes) -> pd.Series:
    """Each distinct value as `enc:<token>.<tag>`: Presidio's encrypt operator under `key` (32 bytes), and a keyed tag
    so that a changed token is refused rather than decrypted to garbage; empty stays empty."""
    from presidio_anonymizer.operators import Encrypt

    operator = Encrypt()
    operator.validate({"key": key})
    codes, texts = _distinct(values)
    tokens = [operator.operate(text, {"key": key}) for text in texts]
    return _spread(codes, [f"{ENCRYPTED_PREFIX}{token}.{_seal(key, token)}" for token in tokens], values.index)


def decrypt(token: str, *, key: bytes) -> str:
    """The value an `enc:` pseudonym stands for; ValueError when it is not one made under this key, or was changed."""
    from presidio_anonymizer.operators import Decrypt

    body = token.strip().strip("\"'")  # as copied from a CSV cell, quotes and all
    body = body[len(ENCRYPTED_PREFIX) :] if body.startswith(ENCRYPTED_PREFIX) else body
    cipher, _, tag = body.rpartition(".")
    if not cipher or not hmac.compare_digest(tag.encode(), _seal(key, cipher).encode()):
        raise ValueError("This is not a reversible pseudonym of this dataset (or it was changed).")
    try:
        return Decrypt().operate(cipher, {"key": key})
    except Exception:  # cannot happen for a token this key sealed; kept so that a surprise is a refusal, not a 500
        raise ValueError("This is not a reversible pseudonym of this dataset (or it was changed).") from None
