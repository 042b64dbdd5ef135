"""Operators: consistent and keyed where they must be, intervals kept, bins right, nulls left alone."""

import pandas as pd
import pytest

from workbench.privacy import operators

SECRET_A, SECRET_B = b"a" * 32, b"b" * 32


def test_pseudonyms_are_consistent_in_a_workspace_and_differ_across_workspaces():
    names = pd.Series(["Ann Lee", "Bo Chen", "Ann Lee", None])
    first = operators.pseudonym(names, secret=SECRET_A)
    again = operators.pseudonym(names.iloc[::-1], secret=SECRET_A).iloc[::-1]
    other = operators.pseudonym(names, secret=SECRET_B)
    assert first[0] == first[2] == again[0] and first[0] != first[1]
    assert first[3] is None
    assert first[0] != other[0]
    assert "Ann Lee" not in set(first.dropna())


def test_keyed_hashes_need_the_secret():
    values = pd.Series(["MRN0001", "MRN0002", "MRN0001"])
    hashed = operators.keyed_hash(values, secret=SECRET_A)
    assert hashed[0] == hashed[2] != hashed[1]
    import hashlib

    assert hashed[0] != hashlib.sha256(b"MRN0001").hexdigest()[:16]  # not a plain hash anyone can recompute
    assert operators.keyed_hash(values, secret=SECRET_B)[0] != hashed[0]


@pytest.mark.parametrize("secret", [b"", b"k" * 32, b"k" * 64, b"long" * 40])
def test_keyed_hash_is_standard_hmac_sha256(secret):
    """Anyone holding the workspace secret can reproduce a hash with any HMAC-SHA256 tool."""
    import hmac

    values = pd.Series(["MRN0001", "José Ñúñez", "", "x" * 500])
    hashed = operators.keyed_hash(values, secret=secret, length=64)
    expected = [hmac.new(secret, f"hash\x1f{v}".encode(), "sha256").hexdigest() for v in values]
    assert hashed.tolist() == expected


def test_date_shift_keeps_each_subjects_intervals():
    frame = pd.DataFrame(
        {
            "subject": ["s1", "s1", "s2", "s2"],
            "admitted": ["2024-01-01", "2024-01-10", "2024-03-01", "2024-03-05"],
        }
    )
    shifted = operators.date_shift(frame["admitted"], frame["subject"], secret=SECRET_A, max_days=100)
    original = pd.to_datetime(frame["admitted"])
    assert (shifted[1] - shifted[0]) == (original[1] - original[0])
    assert (shifted[3] - shifted[2]) == (original[3] - original[2])
    offsets = (shifted - original).dt.days
    assert offsets[0] == offsets[1] and abs(offsets[0]) <= 100
    assert not (shifted == original).all()


def test_mask_redact_and_generalise():
    assert operators.mask(pd.Series(["4111111111111111", "12", None]), keep_last=4).tolist() == ["************1111", "12", None]
    assert operators.redact(pd.Series(["x", None])).tolist() == ["[REDACTED]", None]
    ages = pd.Series([34, 39, 40, 91, None])
    assert operators.generalize_number(ages, width=10, top=90).tolist() == ["30-39", "30-39", "40-49", "90+", None]
    assert operators.top_bottom_code(pd.Series([12, 50, 95]), top=90, bottom=18).tolist() == [18, 50, 90]
    assert operators.generalize_postcode(pd.Series(["SW1A 1AA", "02139", None])).tolist() == ["SW1", "021", None]
    assert operators.generalize_date(pd.Series(["2024-05-17", None]), to="year").tolist() == ["2024", None]


def test_bad_parameters_are_clear_errors():
    with pytest.raises(ValueError, match="Unknown pseudonym kind"):
        operators.pseudonym(pd.Series(["a"]), secret=SECRET_A, kind="pet")
    with pytest.raises(ValueError, match="width must be positive"):
        operators.generalize_number(pd.Series([1]), width=0)
    with pytest.raises(ValueError):
        operators.generalize_number(pd.Series(["not a number"]), width=10)
    with pytest.raises(ValueError, match="'month' or 'year'"):
        operators.generalize_date(pd.Series(["2024-01-01"]), to="week")
