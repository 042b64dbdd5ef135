"""The owner's pages: the console, a dataset's policy, the audit log with its exports, the compliance report, and a
release request's page as the owner and as the analyst (in Chromium too, with hostile group labels)."""

import csv
import io
import json

import pytest

from tests.test_browser import browser, server  # noqa: F401  (fixtures)
from tests.test_releases import answered_turn, wards
from workbench.audit.models import AuditEvent
from workbench.datasets.models import Dataset, Tier, Version
from workbench.releases.models import ReleaseRequest


@pytest.fixture
def raw_and_safe(uploaded):
    raw = uploaded(wards().to_csv(index=False).encode())
    safe = Version.objects.create(
        dataset=raw.dataset, number=2, tier=Tier.SYNTHETIC, parent=raw, made_by={"kind": "test"}, file=raw.file, schema=raw.schema
    )
    return raw, safe


def checked_release(raw, safe, users, api, capture, code=None):
    turn = answered_turn(safe, users["bob"], **({"code": code} if code else {}))
    release = api(
        "bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "board report"}, content_type="application/json"
    ).json()["id"]
    with capture(execute=True):
        api("alice", "post", f"/api/v1/releases/{release}/approve")
    return ReleaseRequest.objects.get(pk=release)


@pytest.mark.django_db
def test_the_console_shows_what_waits_and_the_policy_form_saves_or_names_every_problem(client, users, raw_and_safe, api):
    raw, safe = raw_and_safe
    turn = answered_turn(safe, users["bob"])
    api("bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "board report"}, content_type="application/json")
    client.force_login(users["alice"])
    console = client.get(f"/w/{raw.dataset.workspace_id}/console").content.decode()
    assert "Waiting for a decision" in console and "submitted" in console and raw.dataset.name in console

    before = Dataset.objects.get(pk=raw.dataset_id).policy
    bad = client.post(
        f"/d/{raw.dataset_id}/policy", {"k": "1", "threshold": "zero", "epsilon": "-1", "release_reviewers": "3", "interpreter_tier": "RAW"}
    )
    assert bad.status_code == 400
    page = bad.content.decode()
    for words in ("k must be", "threshold must be", "ε must be", "1 or 2 owners", "never RAW"):
        assert words in page, words
    assert Dataset.objects.get(pk=raw.dataset_id).policy == before  # nothing saved

    form = {
        "analyst_SYNTHETIC": "on",
        "viewer_SYNTHETIC": "on",
        "interpreter_tier": "SYNTHETIC",
        "k": "7",
        "epsilon": "2",
        "delta": "0",
        "release_reviewers": "2",
        "threshold": "8",
        "rounding_base": "3",
        "nk_n": "2",
        "nk_k": "0.9",
        "p_ratio": "0.1",
        "min_dof": "10",
        "zeros_disclosive": "on",
    }
    assert client.post(f"/d/{raw.dataset_id}/policy", form).status_code == 302
    policy = Dataset.objects.get(pk=raw.dataset_id).policy
    assert policy["readable_tiers"] == {"analyst": ["SYNTHETIC"], "viewer": ["SYNTHETIC"]} and policy["disclosure"]["threshold"] == 8
    change = AuditEvent.objects.filter(action="policy.change").get()
    assert change.details["changed"]["k"] == {"from": 5, "to": 7} and change.actor_name == "alice"


@pytest.mark.django_db
def test_the_audit_log_filters_and_exports_csv_and_json(client, users, raw_and_safe, api, django_capture_on_commit_callbacks):
    raw, safe = raw_and_safe
    checked_release(raw, safe, users, api, django_capture_on_commit_callbacks)
    workspace = raw.dataset.workspace_id
    client.force_login(users["alice"])
    page = client.get(f"/w/{workspace}/audit?action=release").content.decode()
    assert "<td>release.request</td>" in page and "<td>release.approve</td>" in page and "<td>dataset.upload</td>" not in page
    exported = client.get(f"/w/{workspace}/audit?action=release&format=csv")
    assert exported["Content-Type"].startswith("text/csv") and "attachment" in exported["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert {r["action"] for r in rows} == {"release.request", "release.approve", "release.checked"}
    everything = json.loads(client.get(f"/w/{workspace}/audit?format=json").content)
    actions = {e["action"] for e in everything["events"]}
    assert {"dataset.upload", "version.create", "member.add", "release.request"} <= actions
    assert AuditEvent.objects.filter(action="audit.export").count() == 2  # exporting is an event too
    by_bob = api("alice", "get", f"/api/v1/workspaces/{workspace}/audit?actor=bob").json()["events"]
    assert by_bob and {e["actor"] for e in by_bob} == {"bob"}
    assert "Patient" not in json.dumps(everything)


@pytest.mark.django_db
def test_the_compliance_report_shows_the_record_and_holds_no_cell_value(
    client, users, raw_and_safe, api, django_capture_on_commit_callbacks
):
    raw, safe = raw_and_safe
    release = checked_release(raw, safe, users, api, django_capture_on_commit_callbacks)
    client.force_login(users["alice"])
    html = client.get(f"/d/{raw.dataset_id}/report").content.decode()
    assert "Compliance report" in html and f"#{release.pk}" in html and "bob" in html and "alice" in html and "board report" not in html
    assert "Patient" not in html
    pdf = client.get(f"/d/{raw.dataset_id}/report?format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-") and len(pdf.content) > 2000
    from workbench.console.compliance import build

    report = json.dumps(build(raw.dataset), default=str)
    assert "Patient" not in report and '"asked_by": "bob"' in report and '"approved_by": "alice"' in report
    assert client.get(f"/d/{raw.dataset_id}/report?format=pdf").status_code == 200
    client.force_login(users["bob"])
    assert client.get(f"/d/{raw.dataset_id}/report").status_code == 403


@pytest.mark.django_db
def test_the_release_page_shows_the_owner_every_reason_and_the_analyst_only_released_cells(
    client, users, raw_and_safe, api, django_capture_on_commit_callbacks
):
    raw, safe = raw_and_safe
    release = checked_release(raw, safe, users, api, django_capture_on_commit_callbacks)
    client.force_login(users["alice"])
    owner = client.get(f"/r/{release.pk}/").content.decode()
    assert "below the threshold of 10" in owner and "Release to bob" in owner and "n 128" in owner
    assert "count, mean of bili by ward" in owner and "never run on the real data" in owner  # the declaration, the code
    assert "<h2>History</h2>" in owner
    client.force_login(users["bob"])
    analyst = client.get(f"/r/{release.pk}/").content.decode()
    assert "once an owner releases it" in analyst and "below the threshold" not in analyst and "130" not in analyst
    assert "in review" in analyst and "<h2>History</h2>" not in analyst and "never run" not in analyst
    client.force_login(users["alice"])
    client.post(f"/r/{release.pk}/release")
    client.force_login(users["bob"])
    analyst = client.get(f"/r/{release.pk}/").content.decode()
    assert "Released output" in analyst and "130" in analyst and "below the threshold" not in analyst and "128" not in analyst


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_hostile_group_labels_and_reasons_do_nothing_on_the_release_pages(server, browser, uploaded, users, api, settings):  # noqa: F811
    from tests.test_hostile_output import _owner_page, _payloads
    from workbench.accounts.models import Membership
    from workbench.releases import actions

    settings.ALLOWED_HOSTS = ["*"]
    payloads = list(_payloads(0).values())
    frame = wards()
    frame["ward"] = [payloads[i % len(payloads)] for i in range(len(frame))]  # groups of about 58: labels are shown
    raw = uploaded(frame.to_csv(index=False).encode())
    safe = Version.objects.create(
        dataset=raw.dataset, number=2, tier=Tier.SYNTHETIC, parent=raw, made_by={"kind": "test"}, file=raw.file, schema=raw.schema
    )
    turn = answered_turn(
        safe, users["bob"], code="result = df.groupby('ward').agg(patients=('age', 'size'), mean_bili=('bili', 'mean'))\nprint(df.head())"
    )
    draft = actions.draft_for_turn(turn)
    assert "query" in draft, draft
    release = actions.request_release(user=users["bob"], version=safe, document=draft["query"], reason="".join(payloads), turn=turn)
    actions.approve_release(request=release, user=users["alice"])  # the run is a job: it runs (in process) on commit
    release.refresh_from_db()
    assert release.state == "checked", release.history
    workspace = raw.dataset.workspace
    before = sorted(Membership.objects.filter(workspace=workspace).values_list("user__username", "role"))
    page, requests, dialogs = _owner_page(browser, server)
    for url in (f"/r/{release.pk}/", f"/w/{workspace.pk}/console", f"/w/{workspace.pk}/audit", f"/d/{raw.dataset_id}/report"):
        page.goto(f"{server.url}{url}")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1000)
        assert page.evaluate("window.pwned") is None, url
    page.goto(f"{server.url}/r/{release.pk}/")
    assert "</script><script>window.pwned" in page.inner_text("table.checked")
    actions.release_output(request=release, user=users["alice"])
    page.goto(f"{server.url}/r/{release.pk}/")
    page.wait_for_selector(".chart .main-svg", timeout=15000)
    assert page.evaluate("window.pwned") is None
    assert dialogs == [] and [r for r in requests if not r[1].startswith(server.url)] == []
    assert [r for r in requests if r[0] != "GET"] == [], requests
    assert page.locator("main [hx-post], main img, main svg[onload]").count() == 0
    assert sorted(Membership.objects.filter(workspace=workspace).values_list("user__username", "role")) == before


@pytest.mark.django_db
def test_the_interpreter_reads_an_anonymised_version_only_when_it_meets_the_policys_k(raw_and_safe, api):
    raw, _ = raw_and_safe
    dataset = raw.dataset
    dataset.policy = {**dataset.policy, "interpreter_tier": "ANONYMIZED", "k": 5}
    dataset.save()

    def anonymized(number, min_k):
        return Version.objects.create(
            dataset=dataset,
            number=number,
            tier=Tier.ANONYMIZED,
            parent=raw,
            made_by={"kind": "anonymize", "risk_after": {"min_k": min_k}},
            file=raw.file,
            schema=raw.schema,
        )

    weak, strong = anonymized(3, 2), anonymized(4, 6)
    refused = api(
        "bob", "post", f"/api/v1/versions/{weak.pk}/conversations", data={"question": "how many?"}, content_type="application/json"
    )
    assert refused.status_code == 400 and "k = 2, below the policy's k = 5" in refused.json()["error"]
    accepted = api(
        "bob", "post", f"/api/v1/versions/{strong.pk}/conversations", data={"question": "how many?"}, content_type="application/json"
    )
    assert accepted.status_code in (201, 202), accepted.content
