"""Synthesis through the API and the pages: a SYNTHETIC version with its report, readable by analysts,
and requests that cannot work refused with every reason before anything runs."""

import pytest

from workbench.datasets.models import Version
from workbench.jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw(uploaded):
    from workbench.console.demo import demo_table

    return uploaded(demo_table().to_csv(index=False).encode(), filename="demo.csv")


def post(api, user, version, body, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return api(user, "post", f"/api/v1/versions/{version.pk}/synthesize", data=body, content_type="application/json")


def test_a_synthetic_version_with_its_report(api, client, users, raw, django_capture_on_commit_callbacks):
    response = post(api, "alice", raw, {"rows": 300, "target": "status", "seed": 4}, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == "succeeded", job.error
    synthetic = Version.objects.get(pk=job.result["version"])
    assert synthetic.tier == "SYNTHETIC" and synthetic.parent_id == raw.pk and synthetic.row_count == 300
    assert [c["name"] for c in synthetic.schema] == [c["name"] for c in raw.schema]
    # the default chooses between its candidates on training rows and records the choice
    assert synthetic.made_by["generator"]["asked"] == "auto" and synthetic.made_by["method"] in ("copula", "marginals")
    assert synthetic.made_by["method"] == synthetic.made_by["generator"]["choice"]["method"] and synthetic.made_by["fidelity_score"] > 60
    # analysts read the SYNTHETIC tier, with its report, but not RAW
    report = api("bob", "get", f"/api/v1/versions/{synthetic.pk}/evaluation").json()["report"]
    assert report["utility"]["target"] == "status" and report["privacy"]["exact_copies_of_rare_rows"] == 0
    assert api("bob", "get", f"/api/v1/versions/{raw.pk}/evaluation").status_code == 403
    download = api("bob", "get", f"/api/v1/versions/{synthetic.pk}/download?format=csv")
    text = b"".join(download.streaming_content).decode()
    from workbench.console.demo import demo_table

    original = demo_table()
    for column in ["patient_name", "phone", "email", "mrn"]:
        assert not [v for v in original[column].astype(str) if v in text], column
    client.force_login(users["bob"])
    page = client.get(f"/v/{synthetic.pk}/").content.decode()
    assert "overall score" in page and 'data-chart="synthesis"' in page and "free text is not modelled" in page


@pytest.mark.parametrize(
    "body,message",
    [
        ({"method": "gan"}, "Method must be one of"),
        ({"rows": 0}, "Rows must be a whole number from 1"),
        ({"target": "not_a_column"}, "target column 'not_a_column' is not in this version"),
        ({"rows": "many"}, "'rows' must be a whole number"),
    ],
)
def test_a_request_that_cannot_work_is_refused_and_starts_nothing(api, raw, body, message, django_capture_on_commit_callbacks):
    response = post(api, "alice", raw, body, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and message in response.json()["error"], response.content
    assert not Job.objects.filter(kind="synthesize").exists()


def test_awkward_tables_end_in_a_synthetic_version_or_a_clear_refusal(api, uploaded, django_capture_on_commit_callbacks):
    rows = "".join(f"R{i:05d},same,,{i % 7}.5,Patient {i} says the knee hurts after the fall last week\n" for i in range(300))
    awkward = uploaded(("record,constant,empty,value,note\n" + rows).encode(), filename="awkward.csv")
    response = post(api, "alice", awkward, {}, django_capture_on_commit_callbacks)
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == "succeeded", job.error
    notes = " ".join(Version.objects.get(pk=job.result["version"]).made_by["notes"])
    assert "identifier" in notes and "constant" in notes and "missing" in notes and "free text" in notes

    one_row = uploaded(b"age,sex\n40,F\n", filename="one.csv")
    response = post(api, "alice", one_row, {}, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "at least 2 rows" in response.json()["error"]


def test_the_ledger_adds_up_dp_runs_and_refuses_one_past_the_budget(api, client, users, raw, settings, django_capture_on_commit_callbacks):
    settings.DP_BUDGET_EPSILON = 2.0
    first = post(api, "alice", raw, {"method": "dp", "epsilon": 1.0, "rows": 200}, django_capture_on_commit_callbacks)
    assert first.status_code == 202, first.content
    job = Job.objects.get(pk=first.json()["job"]["id"])
    assert job.status == "succeeded", job.error
    synthetic = Version.objects.get(pk=job.result["version"])
    assert synthetic.made_by["epsilon"] == 1.0 and synthetic.made_by["delta"] == settings.DP_DELTA_PER_RUN
    report = api("alice", "get", f"/api/v1/versions/{synthetic.pk}/evaluation").json()["report"]
    assert report["generator"]["epsilon"] == 1.0 and report["generator"]["rho"] > 0
    second = post(api, "alice", raw, {"method": "dp", "epsilon": 0.75, "rows": 200}, django_capture_on_commit_callbacks)
    assert second.status_code == 202
    ledger = api("alice", "get", f"/api/v1/datasets/{raw.dataset_id}/privacy-budget").json()
    assert ledger["spent"]["epsilon"] == pytest.approx(1.75) and ledger["left"]["epsilon"] == pytest.approx(0.25)
    assert [e["epsilon"] for e in ledger["entries"]] == [1.0, 0.75] and ledger["entries"][0]["version"] == synthetic.pk
    refused = post(api, "alice", raw, {"method": "dp", "epsilon": 0.5}, django_capture_on_commit_callbacks)
    assert refused.status_code == 400 and "0.25" in refused.json()["error"] and "nothing was run" in refused.json()["error"]
    assert Job.objects.filter(kind="synthesize").count() == 2
    assert api("alice", "get", f"/api/v1/datasets/{raw.dataset_id}/privacy-budget").json()["spent"]["epsilon"] == pytest.approx(1.75)
    # the page shows it
    client.force_login(users["alice"])
    page = client.get(f"/v/{synthetic.pk}/").content.decode()
    section = page[page.index('id="synthetic"') :]
    budget_line = section[section.index("Privacy budget") :][:200] if "Privacy budget" in section else "no budget line"
    assert "ε = 1.0" in section and "1.75 spent of 2" in section, budget_line
    listing = client.get(f"/d/{raw.dataset_id}/").content.decode()
    assert "Synthetic versions side by side" in listing and listing.count("(ε = ") == 2 and "ε 1.75 spent of 2.0" in listing


def test_dp_needs_a_sound_epsilon(api, raw, django_capture_on_commit_callbacks):
    for body, message in [
        ({"method": "dp"}, "needs epsilon"),
        ({"method": "dp", "epsilon": -1}, "needs epsilon"),
        ({"method": "dp", "epsilon": 1, "delta": 2}, "delta must be"),
        ({"method": "copula", "epsilon": 1}, "apply to the dp method, and to deep"),
        ({"method": "deep", "epsilon": 0}, "A DP deep run needs epsilon"),
    ]:
        response = post(api, "alice", raw, body, django_capture_on_commit_callbacks)
        assert response.status_code == 400 and message in response.json()["error"], (body, response.content)
    from workbench.synthesis.models import PrivacySpend

    assert not PrivacySpend.objects.exists()


def test_the_plan_is_shown_before_the_run_and_a_changed_column_is_followed(api, client, users, raw, django_capture_on_commit_callbacks):
    plan = api("alice", "get", f"/api/v1/versions/{raw.pk}/synthesis-plan").json()["plan"]
    by = {c["column"]: c for c in plan["columns"]}
    assert set(by) == {c["name"] for c in raw.schema} and not plan["scanned"]  # classified as the run will
    assert by["patient_name"]["action"] == "fill" and "identifier" in by["patient_name"]["reason"]
    assert by["clinical_notes"]["action"] == "fill" and by["age"]["action"] == "model"
    assert api("bob", "get", f"/api/v1/versions/{raw.pk}/synthesis-plan").status_code == 403  # analysts do not run it
    client.force_login(users["alice"])
    page = client.get(f"/v/{raw.pk}/").content.decode()
    assert 'name="column:age"' in page and "What the copy does with each column" in page

    response = post(api, "alice", raw, {"rows": 200, "columns": {"age": "leave out"}}, django_capture_on_commit_callbacks)
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == "succeeded", job.error
    assert job.params["columns"] == {"age": "leave out"}
    synthetic = Version.objects.get(pk=job.result["version"])
    report = api("alice", "get", f"/api/v1/versions/{synthetic.pk}/evaluation").json()["report"]
    assert "age" not in report["modelled"]
    assert {"column": "age", "reason": "left out by the person who ran it"}.items() <= next(
        c for c in report["unmodelled"] if c["column"] == "age"
    ).items()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/v/{raw.pk}/synthesize", {"method": "copula", "rows": "100", "column:patient_name": "model"})
    assert Job.objects.filter(kind="synthesize").count() == 1  # refused, nothing started
    assert "direct identifier by the scan and is never modelled" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    "columns,message",
    [
        ({"nope": "model"}, "'nope' is not a column of this table"),
        ({"age": "shuffle"}, "the choice must be"),
        ({"clinical_notes": "model"}, "free text and is never modelled"),
        (["age"], "'columns' must map column names"),
    ],
)
def test_a_plan_change_that_cannot_work_is_refused(api, raw, columns, message, django_capture_on_commit_callbacks):
    response = post(api, "alice", raw, {"columns": columns}, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and message in response.json()["error"], response.content
    assert not Job.objects.filter(kind="synthesize").exists()
