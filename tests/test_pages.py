"""Pages as a person uses them, through the test client with real sessions and CSRF."""

import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

pytestmark = pytest.mark.django_db
EXTERNAL = re.compile(r"""(?:src|href|action)=["'](?:https?:)?//""")


@pytest.fixture
def alice(users):
    client = Client(enforce_csrf_checks=True)
    token = csrf(client, "/login/")
    response = client.post("/login/", {"username": "alice", "password": "correct-horse-battery", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    return client


def csrf(client, url: str) -> str:
    page = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_login_and_home(alice, workspace):
    page = alice.get("/").content.decode()
    assert "Cardiology" in page and "New workspace" in page


def test_a_wrong_password_is_explained(client, users):
    response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert b"didn't match" in response.content


def test_an_owner_creates_a_workspace_from_the_page(alice, users):
    token = csrf(alice, "/")
    response = alice.post("/workspaces/new", {"name": "Neurology", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert "Neurology" in alice.get(response.url).content.decode()


def test_the_workspace_page_offers_what_the_role_allows(client, users, workspace):
    client.force_login(users["vera"])
    page = client.get(f"/w/{workspace.pk}/").content.decode()
    assert "Upload a table" not in page and "Add or change member" not in page
    client.force_login(users["bob"])
    page = client.get(f"/w/{workspace.pk}/").content.decode()
    assert "Upload a table" in page and "Add or change member" not in page
    assert 'id="dropzone"' in page


def test_an_upload_from_the_page_goes_to_its_job_then_the_profile(alice, workspace, django_capture_on_commit_callbacks):
    token = csrf(alice, f"/w/{workspace.pk}/")
    file = SimpleUploadedFile("admissions.csv", b"ward,age\nA,30\nB,41\nA,52\n", content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(f"/w/{workspace.pk}/upload", {"file": file, "name": "Admissions", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response.url.startswith("/jobs/")
    job_page = alice.get(response.url).content.decode()
    assert "succeeded" in job_page and "Open the new version" in job_page
    version_url = re.search(r'href="(/v/\d+/)"', job_page).group(1)
    page = alice.get(version_url).content.decode()
    assert "Admissions" in page and "duplicate row" in page
    charts = json.loads(re.search(r'<script id="profile-charts" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert len(charts) == 2
    assert "/static/vendor/plotly-3.7.0.min.js" in page
    preview = alice.get(version_url + "preview?page=1").content.decode()
    assert "<td>A</td>" in preview and "Page 1 of 1" in preview
    assert re.search(r'<td class="muted num">1</td><td>A</td>', preview)


def test_the_drag_and_drop_upload_gets_json(alice, workspace):
    token = csrf(alice, f"/w/{workspace.pk}/")
    file = SimpleUploadedFile("a.csv", b"x\n1\n2\n", content_type="text/csv")
    response = alice.post(f"/w/{workspace.pk}/upload", {"file": file}, headers={"Accept": "application/json", "X-CSRFToken": token})
    assert response.status_code == 202 and response.json()["url"].startswith("/jobs/")
    bad = SimpleUploadedFile("a.csv", b"", content_type="text/csv")
    response = alice.post(f"/w/{workspace.pk}/upload", {"file": bad}, headers={"Accept": "application/json", "X-CSRFToken": token})
    assert response.status_code == 400 and response.json()["error"] == "The file is empty."


def test_no_page_references_another_host(alice, uploaded):
    version = uploaded(b"a,b\n1,2\n3,4\n")
    urls = [
        "/",
        "/login/",
        f"/w/{version.dataset.workspace_id}/",
        f"/d/{version.dataset_id}/",
        f"/v/{version.pk}/",
        f"/v/{version.pk}/preview",
        f"/jobs/{version.jobs.first().pk}/",
        "/admin/login/",
    ]
    for url in urls:
        response = alice.get(url)
        assert response.status_code == 200, url
        assert not EXTERNAL.findall(response.content.decode()), url
        assert "default-src 'self'" in response["Content-Security-Policy"]


def test_no_template_references_another_host():
    for template in (Path(__file__).resolve().parent.parent / "templates").rglob("*.html"):
        assert not EXTERNAL.findall(template.read_text()), template


def test_site_admins_manage_users_workspaces_and_jobs_in_django_admin(client, uploaded):
    from workbench.accounts.actions import create_user

    uploaded(b"a,b\n1,2\n")
    admin = create_user(username="site-admin", password="a-long-password-1", site_admin=True)
    client.force_login(admin)
    for url in [
        "/admin/",
        "/admin/auth/user/",
        "/admin/accounts/workspace/",
        "/admin/accounts/workspace/add/",
        "/admin/jobs/job/",
        "/admin/datasets/dataset/",
        "/admin/audit/auditevent/",
    ]:
        assert client.get(url).status_code == 200, url
    from workbench.accounts.models import Workspace

    workspace_id = Workspace.objects.first().pk
    assert client.get(f"/admin/accounts/workspace/{workspace_id}/change/").status_code == 200
    assert client.post("/admin/audit/auditevent/1/delete/").status_code == 403  # the audit log is append-only


def test_the_workspace_page_polls_its_jobs_until_they_end(client, users, workspace):
    from workbench.jobs.models import Job

    job = Job.objects.create(kind="ingest", workspace=workspace, status="running", progress=40, message="Reading rows")
    client.force_login(users["bob"])
    page = client.get(f"/w/{workspace.pk}/").content.decode()
    assert f'hx-get="/w/{workspace.pk}/jobs"' in page and 'value="40"' in page
    Job.objects.filter(pk=job.pk).update(status="succeeded", progress=100)
    fragment = client.get(f"/w/{workspace.pk}/jobs", headers={"HX-Request": "true"})
    assert "hx-get" not in fragment.content.decode() and fragment["HX-Trigger"] == "job-finished"
    client.force_login(users["charlie"])
    assert client.get(f"/w/{workspace.pk}/jobs").status_code == 404
