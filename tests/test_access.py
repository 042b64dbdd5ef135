"""One way into data: outsiders get 404 everywhere; roles decide uploads and RAW downloads."""

import csv
import io

import pytest

from workbench.datasets.models import Tier, Version

pytestmark = pytest.mark.django_db

CSV = b"name,age\nAnn,30\nBen,40\nCid,50\n"


@pytest.fixture
def version(uploaded):
    return uploaded(CSV)


@pytest.fixture
def synthetic(version):
    """A SYNTHETIC version of the same dataset (made by hand here; the synthesis stage makes real ones)."""
    return Version.objects.create(
        dataset=version.dataset,
        number=2,
        tier=Tier.SYNTHETIC,
        parent=version,
        made_by={"kind": "test"},
        file=version.file,
        schema=version.schema,
    )


def dataset_urls(version) -> list[str]:
    d, v = version.dataset_id, version.pk
    job = version.jobs.first().pk
    return [
        f"/api/v1/workspaces/{version.dataset.workspace_id}",
        f"/api/v1/workspaces/{version.dataset.workspace_id}/members",
        f"/api/v1/workspaces/{version.dataset.workspace_id}/datasets",
        f"/api/v1/datasets/{d}",
        f"/api/v1/versions/{v}",
        f"/api/v1/versions/{v}/preview",
        f"/api/v1/versions/{v}/download?format=csv",
        f"/api/v1/versions/{v}/download?format=parquet",
        f"/api/v1/jobs/{job}",
    ]


def page_urls(version) -> list[str]:
    v, job = version.pk, version.jobs.first().pk
    return [
        f"/w/{version.dataset.workspace_id}/",
        f"/d/{version.dataset_id}/",
        f"/v/{v}/",
        f"/v/{v}/preview",
        f"/v/{v}/download?format=csv",
        f"/jobs/{job}/",
        f"/jobs/{job}/status",
    ]


def test_an_outsider_gets_404_on_every_api_url(api, version):
    for url in dataset_urls(version):
        response = api("charlie", "get", url)
        assert response.status_code == 404, url
        assert response.json() == {"error": "Not found."}
    job = version.jobs.first().pk
    for url in [f"/api/v1/jobs/{job}/cancel", f"/api/v1/jobs/{job}/retry", f"/api/v1/workspaces/{version.dataset.workspace_id}/datasets"]:
        assert api("charlie", "post", url).status_code == 404, url


def test_an_outsider_gets_404_on_every_page(client, users, version):
    client.force_login(users["charlie"])
    for url in page_urls(version):
        assert client.get(url).status_code == 404, url
    job = version.jobs.first().pk
    for url in [
        f"/jobs/{job}/cancel",
        f"/jobs/{job}/retry",
        f"/v/{version.pk}/profile",
        f"/w/{version.dataset.workspace_id}/upload",
        f"/d/{version.dataset_id}/purge",
    ]:
        assert client.post(url).status_code == 404, url


def test_an_anonymous_visitor_is_sent_to_log_in_or_gets_401(client, version):
    assert client.get(f"/v/{version.pk}/").status_code == 302
    response = client.get(f"/api/v1/versions/{version.pk}")
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]


def test_a_bad_token_gets_401(client, version):
    response = client.get("/api/v1/workspaces", headers={"Authorization": "Bearer wb_not-a-token"})
    assert response.status_code == 401


def test_analysts_and_viewers_cannot_read_or_download_raw(api, client, users, version):
    for user in ("bob", "vera"):
        for fmt in ("csv", "xlsx", "parquet"):
            response = api(user, "get", f"/api/v1/versions/{version.pk}/download?format={fmt}")
            assert response.status_code == 403
            assert "RAW" in response.json()["error"]
        assert api(user, "get", f"/api/v1/versions/{version.pk}/preview").status_code == 403
        client.force_login(users[user])
        assert client.get(f"/v/{version.pk}/download?format=csv").status_code == 403


def test_the_owner_can_download_raw(api, version):
    response = api("alice", "get", f"/api/v1/versions/{version.pk}/download?format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [["name", "age"], ["Ann", "30"], ["Ben", "40"], ["Cid", "50"]]


def test_an_owner_can_grant_raw_access(api, version):
    api(
        "alice",
        "post",
        f"/api/v1/workspaces/{version.dataset.workspace_id}/members",
        data={"username": "bob", "role": "analyst", "can_read_raw": True},
        content_type="application/json",
    )
    assert api("bob", "get", f"/api/v1/versions/{version.pk}/download?format=csv").status_code == 200


def test_the_policy_decides_the_safe_tiers(api, synthetic):
    assert api("bob", "get", f"/api/v1/versions/{synthetic.pk}/preview").status_code == 200
    assert api("vera", "get", f"/api/v1/versions/{synthetic.pk}/preview").status_code == 200
    dataset = synthetic.dataset
    dataset.policy["readable_tiers"]["viewer"] = []
    dataset.save()
    assert api("vera", "get", f"/api/v1/versions/{synthetic.pk}/preview").status_code == 403


def test_listing_marks_what_each_role_may_read(api, synthetic):
    body = api("bob", "get", f"/api/v1/datasets/{synthetic.dataset_id}").json()
    readable = {v["tier"]: v["readable"] for v in body["versions"]}
    assert readable == {"RAW": False, "SYNTHETIC": True}


def test_a_viewer_cannot_upload(upload, workspace):
    response, job = upload("vera", workspace, "t.csv", CSV)
    assert response.status_code == 403
    assert job is None


def test_an_analyst_can_upload(upload, workspace):
    response, job = upload("bob", workspace, "t.csv", CSV)
    assert response.status_code == 202


def test_only_owners_manage_members(api, workspace):
    url = f"/api/v1/workspaces/{workspace.pk}/members"
    body = {"username": "charlie", "role": "owner"}
    assert api("bob", "post", url, data=body, content_type="application/json").status_code == 403
    assert api("charlie", "post", url, data=body, content_type="application/json").status_code == 404
    assert api("alice", "post", url, data=body, content_type="application/json").status_code == 201


def test_the_last_owner_cannot_be_removed(api, workspace):
    response = api("alice", "delete", f"/api/v1/workspaces/{workspace.pk}/members?username=alice")
    assert response.status_code == 400
    assert "at least one data owner" in response.json()["error"]


def test_site_admins_get_no_data_access_by_being_admins(db, client, version):
    from workbench.accounts.actions import create_user

    admin = create_user(username="root-admin", password="long-enough-password", site_admin=True)
    client.force_login(admin)
    assert client.get(f"/v/{version.pk}/").status_code == 404


def test_only_owners_purge_a_dataset_and_its_files_go(api, version, settings):
    from workbench.audit.models import AuditEvent
    from workbench.datasets.models import Dataset

    files = [settings.DATA_DIR / version.file, settings.DATA_DIR / version.profile_file]
    assert all(path.exists() for path in files)
    url = f"/api/v1/datasets/{version.dataset_id}"
    assert api("charlie", "delete", url).status_code == 404
    assert api("bob", "delete", url).status_code == 403
    response = api("alice", "delete", url)
    assert response.status_code == 200 and response.json()["files_removed"] == 2
    assert not any(path.exists() for path in files)
    assert not Dataset.objects.exists()
    assert AuditEvent.objects.filter(action="dataset.purge").exists()


def test_the_purge_page_needs_the_name_typed(client, users, version):
    from workbench.datasets.models import Dataset

    client.force_login(users["alice"])
    page = client.get(f"/d/{version.dataset_id}/").content.decode()
    title = page[page.index("<title>") : page.index("</title>")]
    assert "<section" not in title and page.count("Delete for good") == 1
    client.post(f"/d/{version.dataset_id}/purge", {"confirm": "wrong"})
    assert Dataset.objects.exists()
    response = client.post(f"/d/{version.dataset_id}/purge", {"confirm": version.dataset.name})
    assert response.status_code == 302 and not Dataset.objects.exists()


def _objects_of_alices_workspace(version, synthetic) -> dict[str, int]:
    """One object of each kind a route can name, all in alice's workspace: a conversation with a turn on a safe tier."""
    from workbench.analysis.models import Conversation, Turn
    from workbench.releases.models import ReleaseRequest

    conversation = Conversation.objects.create(dataset=version.dataset, version=synthetic)
    turn = Turn.objects.create(conversation=conversation, number=1, question="q", status="failed")
    release = ReleaseRequest.objects.create(dataset=version.dataset, turn=turn, raw_version=version, reason="r")
    return {
        "workspace_id": version.dataset.workspace_id,
        "dataset_id": version.dataset_id,
        "version_id": version.pk,
        "job_id": version.jobs.first().pk,
        "conversation_id": conversation.pk,
        "turn_id": turn.pk,
        "release_id": release.pk,
    }


def _routes_with_ids():
    """Every route of the URL conf that takes an id, walked from urlpatterns (a new route cannot be missed)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if "<int:" in route:
                    yield route

    return sorted(set(walk(get_resolver().url_patterns)))


def test_an_outsider_gets_404_on_every_route_that_takes_an_id(api, client, users, version, synthetic):
    import re

    ids = _objects_of_alices_workspace(version, synthetic)
    routes = _routes_with_ids()
    assert len(routes) >= 40, routes
    client.force_login(users["charlie"])  # a data owner of another workspace
    checked = []
    for route in routes:
        names = re.findall(r"<int:(\w+)>", route)
        assert set(names) <= set(ids), f"{route}: add an object for {set(names) - set(ids)} to this test"
        url = "/" + re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), route)
        for method in ("get", "post"):
            if url.startswith("/api/"):
                response = api("charlie", method, url, content_type="application/json", data={} if method == "post" else None)
            else:
                response = getattr(client, method)(url)
            assert response.status_code in (404, 405), f"{method.upper()} {url}: {response.status_code}"
            checked.append((method, url, response.status_code))
    assert sum(code == 404 for _, _, code in checked) >= len(routes)  # every route answers 404 to one method at least
