"""Settings come from the environment and bad values fail at start with a clear message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from workbench import env

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "helper,value,message",
    [
        (lambda: env.env_int("X_INT", 1), "ten", "whole number"),
        (lambda: env.env_int("X_INT", 1, minimum=5), "2", "at least 5"),
        (lambda: env.env_bool("X_BOOL", False), "maybe", "true or false"),
        (lambda: env.env_bytes("X_BYTES", 1), "lots", "size like"),
        (lambda: env.env_key("X_KEY"), "c2hvcnQ=", "32 bytes"),
    ],
)
def test_bad_values_raise_improperly_configured(monkeypatch, helper, value, message):
    for name in ["X_INT", "X_BOOL", "X_BYTES", "X_KEY"]:
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        helper()


def test_sizes_accept_units(monkeypatch):
    monkeypatch.setenv("X_BYTES", "1.5G")
    assert env.env_bytes("X_BYTES", 1) == int(1.5 * 1024**3)
    monkeypatch.setenv("X_BYTES", "500M")
    assert env.env_bytes("X_BYTES", 1) == 500 * 1024**2


def run_check(**overrides) -> subprocess.CompletedProcess:
    environment = dict(os.environ, **overrides)
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)


def test_the_server_refuses_to_start_with_a_bad_setting():
    result = run_check(WORKBENCH_MAX_ROWS="many")
    assert result.returncode != 0
    assert "WORKBENCH_MAX_ROWS must be a whole number" in result.stderr


def test_the_server_refuses_to_start_with_a_bad_master_key():
    result = run_check(WORKBENCH_MASTER_KEY="bm90LWEta2V5")
    assert result.returncode != 0
    assert "WORKBENCH_MASTER_KEY must be base64 of exactly 32 bytes" in result.stderr


def test_the_server_refuses_an_unknown_database_url():
    result = run_check(WORKBENCH_DATABASE_URL="mysql://x@localhost/db")
    assert result.returncode != 0
    assert "sqlite:// or postgres://" in result.stderr


def test_every_setting_is_documented_in_env_example():
    import re

    used = set(re.findall(r"WORKBENCH_[A-Z_]+", (ROOT / "workbench" / "settings.py").read_text()))
    documented = set(re.findall(r"WORKBENCH_[A-Z_]+", (ROOT / ".env.example").read_text()))
    assert used - documented == set()
