"""Typed readers for environment variables that fail loudly at start-up."""

import base64
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"{name} must be set (see .env.example)")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if not value > minimum:
        raise ImproperlyConfigured(f"{name} must be more than {minimum:g}, not {raw}")
    return value


def env_bytes(name: str, default: int) -> int:
    """A size such as 2G, 500M, 64K or a plain number of bytes."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    text = raw.strip().upper().removesuffix("B").removesuffix("I")
    factor = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        value = int(float(number) * factor)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a size like 2G or 500M, not {raw!r}") from None
    if value <= 0:
        raise ImproperlyConfigured(f"{name} must be a positive size, not {raw!r}")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name, default)).expanduser().resolve()


def env_key(name: str, *, fallback: bytes | None = None) -> bytes:
    """A 256-bit key given as base64 (44 characters)."""
    raw = os.environ.get(name)
    if raw is None:
        if fallback is None:
            raise ImproperlyConfigured(
                f"{name} must be set to a base64 32-byte key; make one with: "
                "python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'"
            )
        return fallback
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ImproperlyConfigured(f"{name} is not valid base64") from None
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name} must decode to 32 bytes, not {len(key)}")
    return key
