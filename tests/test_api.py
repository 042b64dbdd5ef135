"""The JSON API: tokens, workspaces, members, errors as JSON, and the OpenAPI document."""

import re

import pytest
from django.urls import Resolver404, resolve

pytestmark = pytest.mark.django_db


def test_it_issues_a_token_for_a_username_and_password(client, users):
    response = client.post(
        "/api/v1/auth/token", {"username": "alice", "password": "correct-horse-battery"}, content_type="application/json"
    )
    assert response.status_code == 201
    token = response.json()["token"]
    listing = client.get("/api/v1/workspaces", headers={"Authorization": f"Bearer {token}"})
    assert listing.status_code == 200


def test_a_wrong_password_gets_401_json(client, users):
    response = client.post("/api/v1/auth/token", {"username": "alice", "password": "nope"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json() == {"error": "Wrong username or password."}


def test_only_token_hashes_are_stored(tokens):
    from workbench.accounts.models import ApiToken

    stored = set(ApiToken.objects.values_list("key_hash", flat=True))
    assert not stored & set(tokens.values())


def test_workspaces_are_created_by_data_owners_only(api, users):
    created = api("alice", "post", "/api/v1/workspaces", data={"name": "Oncology"}, content_type="application/json")
    assert created.status_code == 201 and created.json()["role"] == "owner"
    refused = api("bob", "post", "/api/v1/workspaces", data={"name": "Mine"}, content_type="application/json")
    assert refused.status_code == 403
    assert "data-owner permission" in refused.json()["error"]
    empty = api("alice", "post", "/api/v1/workspaces", data={"name": " "}, content_type="application/json")
    assert empty.status_code == 400


def test_each_user_lists_only_their_workspaces(api, workspace):
    names = {w["name"] for w in api("charlie", "get", "/api/v1/workspaces").json()["workspaces"]}
    assert names == {"Charlie's own"}
    roles = {w["name"]: w["role"] for w in api("bob", "get", "/api/v1/workspaces").json()["workspaces"]}
    assert roles == {"Cardiology": "analyst"}


def test_members_are_listed_added_and_refused_with_clear_errors(api, workspace):
    url = f"/api/v1/workspaces/{workspace.pk}/members"
    members = {m["username"]: m["role"] for m in api("bob", "get", url).json()["members"]}
    assert members == {"alice": "owner", "bob": "analyst", "vera": "viewer"}
    unknown = api("alice", "post", url, data={"username": "nobody", "role": "viewer"}, content_type="application/json")
    assert unknown.status_code == 400 and "no active user" in unknown.json()["error"]
    bad_role = api("alice", "post", url, data={"username": "charlie", "role": "king"}, content_type="application/json")
    assert bad_role.status_code == 400 and "Role must be one of" in bad_role.json()["error"]


def test_bad_json_and_wrong_methods_get_json_errors(api, workspace):
    response = api("alice", "post", "/api/v1/workspaces", data="{not json", content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
    response = api("alice", "delete", "/api/v1/workspaces")
    assert response.status_code == 405 and "GET, POST" in response.json()["error"]
    response = api("alice", "get", "/api/v1/nothing-here")
    assert response.status_code == 404 and response.json() == {"error": "Not found."}


def test_session_requests_to_the_api_need_the_csrf_token(users):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["alice"])
    response = client.post("/api/v1/workspaces", data={"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]


def test_the_openapi_document_describes_every_api_route(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    for path, operations in schema["paths"].items():
        concrete = re.sub(r"\{[a-z_]+\}", "1", path)
        try:
            resolve(concrete)
        except Resolver404:
            pytest.fail(f"{path} is documented but not routed")
        for operation in operations.values():
            assert operation["summary"]
            assert {"200", "201", "202"} & set(operation["responses"])
    from workbench.urls import api_v1

    documented = {p.replace("{", "<int:").replace("}", ">") for p in schema["paths"]}
    routed = {"/" + str(p.pattern) for p in api_v1}
    assert routed == documented


def test_api_docs_mention_every_route():
    from pathlib import Path

    from workbench.urls import api_v1

    text = (Path(__file__).resolve().parent.parent / "docs" / "API.md").read_text()
    for pattern in api_v1:
        route = "/" + str(pattern.pattern).replace("<int:", "{").replace(">", "}")
        assert route in text, route
