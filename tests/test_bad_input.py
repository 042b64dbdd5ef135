"""Bad input gets a clear error in the API and the page, leaves no version behind, and the server stays up."""

import io
import os
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from workbench.datasets.models import Dataset, Version
from workbench.jobs.models import Job

pytestmark = pytest.mark.django_db


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 * 1024 * 1024))
    return buffer.getvalue()


def ragged_csv() -> bytes:
    rows = ["a,b,c"] + [f"{i},{i},{i}" for i in range(500)] + ["1,2,3,4"] + [f"{i},{i},{i}" for i in range(10)]
    return "\n".join(rows).encode()


BAD_FILES = {
    "empty": ("empty.csv", b"", "text/csv", "empty"),
    "binary garbage": ("data.csv", os.urandom(4096) + b"\0\0\0", "text/csv", "binary"),
    "ragged rows": ("ragged.csv", ragged_csv(), "text/csv", "fields but the header has 3"),
    "10,000 columns": (
        "wide.csv",
        (",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000)).encode(),
        "text/csv",
        "10,000 columns",
    ),
    "zip bomb": ("bomb.xlsx", zip_bomb(), "application/octet-stream", "ZIP bomb"),
    "path traversal": ("../../../../etc/cron.d/evil.csv", b"a,b\n1,2\n", "text/csv", None),
    "wrong content type": ("photo.csv", b"a,b\n1,2\n", "image/png", "image/png"),
    "xlsx that is not a zip": ("sheet.xlsx", b"a,b\n1,2\n", "application/octet-stream", "not an XLSX"),
    "parquet that is not parquet": ("t.parquet", b"a,b\n1,2\n", "application/octet-stream", "not a Parquet"),
    "json array": ("t.jsonl", b'[{"a": 1}]', "application/json", "JSON array"),
    "unsupported extension": ("report.pdf", b"%PDF-1.4 ...", "application/pdf", "Unsupported file type"),
    "header only": ("header.csv", b"a,b,c\n", "text/csv", "no data rows"),
}


def outcome(response, job) -> tuple[int, str]:
    """(status, error) whether the refusal came at once (4xx) or from the ingest job."""
    if response.status_code != 202:
        return response.status_code, response.json()["error"]
    job.refresh_from_db()
    return (202 if job.status == "succeeded" else 422), job.error


@pytest.mark.parametrize("case", BAD_FILES.keys())
def test_it_refuses_bad_input_through_the_api(case, upload, workspace, api):
    filename, content, content_type, expected = BAD_FILES[case]
    response, job = upload("alice", workspace, filename, content, content_type=content_type)
    status, message = outcome(response, job)
    if case == "path traversal":
        # Django strips the folders; the name is kept only as a label and never touches the file system.
        assert status == 202
        dataset = Dataset.objects.get()
        assert dataset.name == "evil"
        assert not os.path.exists("/etc/cron.d/evil.csv")
        return
    assert status >= 400, f"{case} was accepted"
    assert expected.lower() in message.lower(), message
    assert Version.objects.count() == 0
    assert Dataset.objects.count() == 0
    assert api("alice", "get", f"/api/v1/workspaces/{workspace.pk}").status_code == 200  # still up


def test_it_refuses_a_file_over_the_limit(upload, workspace):
    with override_settings(MAX_UPLOAD_BYTES=1000):
        response, job = upload("alice", workspace, "big.csv", b"a,b\n" + b"1,2\n" * 1000)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    assert Version.objects.count() == 0


def test_it_refuses_a_cell_over_the_limit(upload, workspace):
    with override_settings(MAX_CELL_CHARS=100):
        response, job = upload("alice", workspace, "long.csv", b"a,b\n1," + b"x" * 500 + b"\n")
    assert outcome(response, job)[0] == 422
    assert "500 characters" in job.error
    assert Version.objects.count() == 0


def test_it_refuses_more_rows_than_the_limit(upload, workspace):
    with override_settings(MAX_ROWS=10):
        response, job = upload("alice", workspace, "rows.csv", b"a\n" + b"1\n" * 50)
    assert outcome(response, job)[0] == 422
    assert "more than 10 rows" in job.error


def test_it_refuses_a_request_that_is_not_multipart(api, workspace):
    response = api("alice", "post", f"/api/v1/workspaces/{workspace.pk}/datasets", data={"a": 1}, content_type="application/json")
    assert response.status_code == 415
    assert "multipart" in response.json()["error"]


def test_errors_never_quote_cell_values(upload, workspace):
    secret = "Alice-Secret-Patient-Name"
    content = ("a,b,c\n" + "1,2,3\n" * 300 + f"{secret},{secret},{secret},{secret}\n").encode()
    response, job = upload("alice", workspace, "ragged.csv", content)
    status, message = outcome(response, job)
    assert status >= 400
    assert secret not in message
    assert all(secret not in (j.error + j.message) for j in Job.objects.all())


def test_the_page_shows_the_error_and_stores_nothing(client, users, workspace):
    client.force_login(users["alice"])
    file = SimpleUploadedFile("data.csv", os.urandom(2048) + b"\0", content_type="text/csv")
    response = client.post(f"/w/{workspace.pk}/upload", {"file": file})
    assert response.status_code == 400
    assert b"binary file" in response.content
    assert b"Nothing was stored" in response.content
    assert Dataset.objects.count() == 0


def test_refused_uploads_leave_no_staged_file(upload, workspace, settings):
    staging = settings.DATA_DIR / "staging"
    before = set(staging.glob("*")) if staging.exists() else set()
    for filename, content, content_type, _ in BAD_FILES.values():
        if "traversal" not in filename:
            upload("alice", workspace, filename, content, content_type=content_type)
    after = set(staging.glob("*")) if staging.exists() else set()
    assert after == before


@pytest.mark.parametrize("case", [c for c in BAD_FILES if c != "path traversal"])
def test_every_bad_file_is_explained_on_the_page(case, client, users, workspace, django_capture_on_commit_callbacks):
    filename, content, content_type, expected = BAD_FILES[case]
    client.force_login(users["alice"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/w/{workspace.pk}/upload", {"file": SimpleUploadedFile(filename, content, content_type=content_type)})
    if response.status_code == 302:  # refused by the ingest job rather than at once: the job page says why
        response = client.get(response.url)
    page = response.content.decode()
    assert expected.lower() in page.lower().replace("&#x27;", "'"), page[-2000:]
    assert 'role="alert"' in page
    assert Version.objects.count() == 0


def test_uploads_refused_for_access_leave_no_staged_file(upload, workspace, client, users, settings):
    staging = settings.DATA_DIR / "staging"
    before = set(staging.glob("*")) if staging.exists() else set()
    assert upload("vera", workspace, "t.csv", b"a\n1\n")[0].status_code == 403  # viewer
    assert upload("charlie", workspace, "t.csv", b"a\n1\n")[0].status_code == 404  # outsider
    anonymous = client.post(f"/w/{workspace.pk}/upload", {"file": SimpleUploadedFile("t.csv", b"a\n1\n")})
    assert anonymous.status_code == 302
    after = set(staging.glob("*")) if staging.exists() else set()
    assert after == before
