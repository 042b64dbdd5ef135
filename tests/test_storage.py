"""RAW at rest: encrypted with a per-dataset key wrapped by the master key; no plaintext anywhere on disk."""

import io
import os

import pandas as pd
import pytest

from workbench.storage import CHUNK, CorruptFile, EncryptedReader, EncryptedWriter, new_data_key, unwrap_key

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_it_round_trips_and_seeks(tmp_path, size):
    key, _ = new_data_key()
    data = os.urandom(size)
    with EncryptedWriter(tmp_path / "f", key) as out:
        for start in range(0, size, 300_001):
            out.write(data[start : start + 300_001])
    with EncryptedReader(tmp_path / "f", key) as src:
        assert src.size == size
        assert src.read() == data
        if size > 10:
            src.seek(size // 2)
            assert src.read(7) == data[size // 2 : size // 2 + 7]
            src.seek(-5, io.SEEK_END)
            assert src.read() == data[-5:]


def test_it_detects_tampering_truncation_and_the_wrong_key(tmp_path):
    key, _ = new_data_key()
    with EncryptedWriter(tmp_path / "f", key) as out:
        out.write(b"x" * (2 * CHUNK + 10))
    raw = bytearray((tmp_path / "f").read_bytes())
    raw[100] ^= 1
    (tmp_path / "tampered").write_bytes(raw)
    with pytest.raises(CorruptFile), EncryptedReader(tmp_path / "tampered", key) as src:
        src.read()
    (tmp_path / "cut").write_bytes((tmp_path / "f").read_bytes()[: -(CHUNK // 2)])
    with pytest.raises(CorruptFile), EncryptedReader(tmp_path / "cut", key) as src:
        src.read()
    other, _ = new_data_key()
    with pytest.raises(CorruptFile), EncryptedReader(tmp_path / "f", other) as src:
        src.read()


def test_data_keys_unwrap_only_with_the_master_key(settings):
    key, wrapped = new_data_key()
    assert unwrap_key(wrapped) == key
    assert key not in wrapped
    settings.MASTER_KEY_B64 = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="
    with pytest.raises(CorruptFile):
        unwrap_key(wrapped)


def test_no_plaintext_cell_value_is_on_disk(uploaded, settings, django_db_blocker):
    from workbench.console.demo import demo_table

    table = demo_table()
    version = uploaded(table.to_csv(index=False).encode(), filename="demo.csv")
    assert version.encrypted
    needles = set()
    for column in ["mrn", "patient_name", "phone", "email", "address", "date_of_birth", "clinical_notes"]:
        needles.update(str(value) for value in table[column].dropna())
    needles.update(str(v) for v in table["sex"].unique())  # category values end up in the profile too
    needles = {n for n in needles if len(n) >= 4}
    files = [p for p in settings.DATA_DIR.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".parquet.enc") for p in files)
    assert any(p.name.endswith(".profile.json.enc") for p in files)
    for path in files:
        blob = path.read_bytes()
        found = [n for n in needles if n.encode() in blob]
        assert not found, f"{path} holds plaintext values such as {found[:2]}"


def test_nothing_about_the_values_is_stored_in_the_database(uploaded):
    from django.db import connection

    secret = "Zebediah Quartermaine"
    version = uploaded(pd.DataFrame({"name": [secret, "Ann Other"] * 20, "n": range(40)}).to_csv(index=False).encode())
    assert version.profile_file
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            assert secret not in repr(cursor.fetchall()), table
