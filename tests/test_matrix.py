"""Every page and API endpoint, requested as the data owner, an analyst, a viewer, an outsider (an owner of another
workspace) and an anonymous visitor, GET and POST: each answer is what the role allows. The routes are walked from
urlpatterns, so a new one fails this test until it says who may use it."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.test_releases import answered_turn
from workbench.analysis.models import Conversation
from workbench.datasets.models import Tier, Version
from workbench.releases.models import ReleaseRequest

pytestmark = pytest.mark.django_db

# What each route needs, for GET and for POST. "raw": the route names the RAW version (only owners and members
# granted RAW read it); "creator": the data-owner permission; None: the method is not allowed (405).
ROUTES = {
    "api/v1/workspaces": ("login", "creator"),
    "api/v1/workspaces/<workspace_id>": ("read", None),
    "api/v1/workspaces/<workspace_id>/members": ("read", "manage"),
    "api/v1/workspaces/<workspace_id>/datasets": ("read", "upload"),
    "api/v1/workspaces/<workspace_id>/policies": ("read", "run"),  # saved anonymisation policies
    "api/v1/workspaces/<workspace_id>/audit": ("manage", None),
    "api/v1/workspaces/<workspace_id>/releases": ("read", None),
    "api/v1/datasets/<dataset_id>": ("read", None),
    "api/v1/datasets/<dataset_id>/policy": ("manage", "manage"),
    "api/v1/datasets/<dataset_id>/reveal": (None, "manage"),
    "api/v1/datasets/<dataset_id>/privacy-budget": ("read", None),
    "api/v1/versions/<version_id>": ("raw", None),
    "api/v1/versions/<version_id>/preview": ("raw", None),
    "api/v1/versions/<version_id>/download": ("raw", None),
    "api/v1/versions/<version_id>/scan": ("raw", "raw"),
    "api/v1/versions/<version_id>/anonymize": (None, "raw"),
    "api/v1/versions/<version_id>/synthesize": (None, "raw"),
    "api/v1/versions/<version_id>/evaluation": ("raw", None),
    "api/v1/versions/<version_id>/synthesis-plan": ("raw", None),  # and "run": the matrix's RAW readers all may run
    "api/v1/versions/<version_id>/conversations": (None, "raw"),
    "api/v1/conversations/<conversation_id>": ("read", None),
    "api/v1/conversations/<conversation_id>/turns": (None, "run"),
    "api/v1/turns/<turn_id>/cancel": (None, "run"),
    "api/v1/turns/<turn_id>/retry": (None, "run"),
    "api/v1/turns/<turn_id>/release": ("read", "run"),
    "api/v1/versions/<version_id>/releases": (None, "raw"),  # RAW readers are refused in words: a query is written on a safe tier
    "api/v1/versions/<version_id>/precheck": (None, "raw"),
    "api/v1/releases/<release_id>": ("read", None),
    "api/v1/releases/<release_id>/approve": (None, "manage"),
    "api/v1/releases/<release_id>/reject": (None, "manage"),
    "api/v1/releases/<release_id>/release": (None, "manage"),
    "api/v1/jobs/<job_id>": ("read", None),
    "api/v1/jobs/<job_id>/cancel": (None, "run"),
    "api/v1/jobs/<job_id>/retry": (None, "run"),
    "api/v1/openapi.json": ("public", None),
    "": ("login", None),
    "healthz": ("public", "public"),
    "workspaces/new": (None, "creator"),
    "w/<workspace_id>/": ("read", None),
    "w/<workspace_id>/members": (None, "manage"),
    "w/<workspace_id>/jobs": ("read", None),
    "w/<workspace_id>/upload": (None, "upload"),
    "w/<workspace_id>/console": ("manage", None),
    "w/<workspace_id>/audit": ("manage", None),
    "w/<workspace_id>/releases": ("read", None),
    "d/<dataset_id>/": ("read", None),
    "d/<dataset_id>/policy": ("manage", "manage"),
    "d/<dataset_id>/report": ("manage", None),
    "d/<dataset_id>/purge": (None, "manage"),
    "v/<version_id>/": ("raw", None),
    "v/<version_id>/preview": ("raw", None),
    "v/<version_id>/download": ("raw", None),
    "v/<version_id>/profile": (None, "raw"),
    "v/<version_id>/scan": (None, "raw"),
    "v/<version_id>/anonymize": (None, "raw"),
    "v/<version_id>/policy": (None, "raw"),
    "v/<version_id>/synthesize": (None, "raw"),
    "v/<version_id>/conversations": (None, "raw"),
    "v/<version_id>/release": ("raw", "raw"),
    "c/<conversation_id>/": ("read", None),
    "c/<conversation_id>/ask": (None, "run"),
    "c/<conversation_id>/notebook.ipynb": ("read", None),
    "t/<turn_id>/": ("read", None),
    "t/<turn_id>/cancel": (None, "run"),
    "t/<turn_id>/retry": (None, "run"),
    "t/<turn_id>/release": ("run", "run"),
    "r/<release_id>/": ("read", None),
    "r/<release_id>/approve": (None, "manage"),
    "r/<release_id>/reject": (None, "manage"),
    "r/<release_id>/release": (None, "manage"),
    "jobs/<job_id>/": ("read", None),
    "jobs/<job_id>/status": ("read", None),
    "jobs/<job_id>/cancel": (None, "run"),
    "jobs/<job_id>/retry": (None, "run"),
}
# Tested on their own: signing in and out changes the client's session; the site admin is Django's.
ELSEWHERE = {"api/v1/auth/token", "login/", "logout/"}

RIGHTS = {
    "alice": {"login", "creator", "read", "upload", "run", "manage", "raw"},  # the data owner
    "bob": {"login", "read", "upload", "run"},  # analyst
    "vera": {"login", "read"},  # viewer
    "charlie": {"login", "creator"},  # an owner of another workspace: an outsider here
    None: set(),  # anonymous
}
DENIED = {401, 403, 404, 405, 500}


def routes() -> list[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield re.sub(r"<int:(\w+)>", r"<\1>", prefix + str(pattern.pattern))

    return sorted({r for r in walk(get_resolver().url_patterns) if not r.startswith("admin/")} - ELSEWHERE)


def expected(route: str, need: str | None, user: str | None) -> str:
    """'allowed', or the status a refusal must have."""
    api = route.startswith("api/")
    if need is None:
        return "302" if user is None and not api and route not in ("healthz",) else "405"
    if need == "public":
        return "allowed"
    if user is None:
        return "401" if api else "302"
    if need in RIGHTS[user]:
        return "allowed"
    if need == "creator" and not api:
        return "302"  # the page says why on the page it goes back to (and creates nothing)
    if "<" in route and need not in ("login", "creator"):
        return "404" if user == "charlie" else "403"
    return "403"


@pytest.fixture
def objects(uploaded, users):
    raw = uploaded(b"ward,age\nA,30\nA,40\nB,50\n")
    synthetic = Version.objects.create(
        dataset=raw.dataset, number=2, tier=Tier.SYNTHETIC, parent=raw, made_by={"kind": "test"}, file=raw.file, schema=raw.schema
    )
    turn = answered_turn(synthetic, users["alice"])
    release = ReleaseRequest.objects.create(dataset=raw.dataset, turn=turn, raw_version=raw, reason="r", requested_by=users["alice"])
    return {
        "workspace_id": raw.dataset.workspace_id,
        "dataset_id": raw.dataset_id,
        "version_id": raw.pk,
        "conversation_id": Conversation.objects.get().pk,
        "turn_id": turn.pk,
        "release_id": release.pk,
        "job_id": raw.jobs.first().pk,
    }


def test_every_route_says_who_may_use_it():
    assert set(routes()) == set(ROUTES), f"new: {set(routes()) - set(ROUTES)}; gone: {set(ROUTES) - set(routes())}"


@pytest.mark.parametrize("user", [None, "charlie", "vera", "bob", "alice"])  # the owner last: her POSTs change things
def test_each_role_gets_what_it_may_and_nothing_else(client, api, users, objects, user):
    wrong = []
    for route in routes():
        url = "/" + re.sub(r"<(\w+)>", lambda m: str(objects[m.group(1)]), route)
        for method, need in zip(("get", "post"), ROUTES[route], strict=True):
            if route.startswith("api/"):
                if user is None:
                    response = getattr(client, method)(url, content_type="application/json", **({"data": {}} if method == "post" else {}))
                else:
                    response = api(user, method, url, content_type="application/json", **({"data": {}} if method == "post" else {}))
            else:
                client.logout()
                if user is not None:
                    client.force_login(users[user])
                response = getattr(client, method)(url)
            want = expected(route, need, user)
            got = response.status_code
            ok = got not in DENIED if want == "allowed" else str(got) == want
            if not ok:
                wrong.append(f"{method.upper()} {url} as {user or 'anonymous'}: {got}, expected {want}")
    assert wrong == []


def test_analysts_cannot_read_raw_approve_change_a_policy_or_read_the_audit(client, api, users, objects):
    raw, release, dataset, workspace = objects["version_id"], objects["release_id"], objects["dataset_id"], objects["workspace_id"]
    assert api("bob", "get", f"/api/v1/versions/{raw}/download?format=csv").status_code == 403
    assert api("bob", "post", f"/api/v1/releases/{release}/approve").status_code == 403
    assert api("bob", "post", f"/api/v1/datasets/{dataset}/policy", data={"k": 2}, content_type="application/json").status_code == 403
    assert api("bob", "get", f"/api/v1/workspaces/{workspace}/audit").status_code == 403
    client.force_login(users["bob"])
    assert client.get(f"/w/{workspace}/audit?format=csv").status_code == 403
    assert client.post(f"/d/{dataset}/policy", {"k": "2"}).status_code == 403
    assert ReleaseRequest.objects.get(pk=release).state == "submitted"
