"""The release airlock: an analyst asks for a declared query (drafted from an answer on the safe tier, or written);
an owner who did not ask approves; the checker computes it on RAW itself — no code runs there — and decides every
cell by the rules and the dataset's ledger; an owner releases; the analyst sees the released cells only, and before
that nothing but the request's state in four words."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from tests.conftest import finished, upload_through_worker, wait_for
from tests.test_browser import browser, server  # noqa: F401  (fixtures)
from workbench.analysis._child import describe
from workbench.analysis.actions import seal
from workbench.analysis.models import Conversation, Turn
from workbench.audit.models import AuditEvent
from workbench.datasets.actions import read_table
from workbench.datasets.models import Tier, Version
from workbench.releases.infer import infer
from workbench.releases.models import LedgerEntry, ReleaseRequest
from workbench.storage import unwrap_key
from workbench.synthesis.models import PrivacySpend

# Wards sized so that one table shows every rule: ward B has 3 patients (suppressed), ward A 128 (rounded to 130),
# and ward C's lab value is known for 4 patients only (its mean is suppressed).
CODE = "result = df.groupby('ward').agg(patients=('age', 'size'), mean_bili=('bili', 'mean'))"
BY_WARD = {
    "kind": "table",
    "groups": [{"column": "ward", "values": ["A", "B", "C", "D"]}],
    "measures": [{"statistic": "count"}, {"statistic": "mean", "column": "bili"}],
}


def wards(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = {"A": 128, "B": 3, "C": 40, "D": 60}
    frame = pd.DataFrame({"ward": [w for w, n in sizes.items() for _ in range(n)]})
    frame["age"] = rng.integers(20, 90, len(frame))
    frame["bili"] = rng.gamma(2.0, 0.8, len(frame)).round(2)
    c_rows = frame.index[frame["ward"] == "C"]
    frame.loc[c_rows[4:], "bili"] = np.nan
    frame["name"] = [f"Patient {i:03d}" for i in range(len(frame))]
    return frame


def answered_turn(version: Version, user, code: str = CODE) -> Turn:
    """A turn answered on the safe tier, stored as the interpreter stores one: its result (the code run here, on the
    safe tier's table, as the sandbox would) and the declaration drafted from it, sealed."""
    conversation = Conversation.objects.create(dataset=version.dataset, version=version, created_by=user)
    frame = read_table(version).to_pandas(date_as_object=False)
    namespace = {"df": frame.copy(), "pd": pd, "np": np}
    try:
        exec(code, namespace)  # test code, on the safe tier's table
        result = describe(namespace["result"], {"table_rows": 200, "output_bytes": 20000})
    except KeyError:  # a table without the code's columns (some tests only need a turn to exist)
        result = {
            "kind": "table",
            "columns": ["ward", "patients"],
            "rows": [["A", 120]],
            "total_rows": 1,
            "index_columns": 1,
            "columns_name": None,
        }
    try:
        draft = {"query": infer(result, frame, code)}
    except ValueError as problem:
        draft = {"error": str(problem)}
    record = {
        "question": "patients and mean bilirubin per ward",
        "code": code,
        "outcome": {"ok": True, "result": result},
        "answer": "done",
        "release_query": draft,
    }
    key = unwrap_key(version.dataset.wrapped_key)
    return Turn.objects.create(
        conversation=conversation, number=1, question=record["question"], status="answered", record=seal(key, record), created_by=user
    )


def cells_by_ward(checked: dict) -> dict:
    return {row[0]: dict(zip(checked["columns"][1:], row[1:], strict=True)) for row in checked["rows"]}


@pytest.fixture
def raw_and_safe(uploaded):
    raw = uploaded(wards().to_csv(index=False).encode())
    safe = Version.objects.create(
        dataset=raw.dataset, number=2, tier=Tier.SYNTHETIC, parent=raw, made_by={"kind": "test"}, file=raw.file, schema=raw.schema
    )  # the same file stands in for a synthetic copy here; the worker test below makes a real one
    return raw, safe


def file(api, user, version, query, reason="for the board"):
    return api(
        user, "post", f"/api/v1/versions/{version.pk}/releases", data={"reason": reason, "query": query}, content_type="application/json"
    )


def approve_and_run(api, release_id, capture, owner="alice") -> dict:
    """Approve as `owner`; the run is a job that runs in process once the approval commits. The request afterwards."""
    with capture(execute=True):
        response = api(owner, "post", f"/api/v1/releases/{release_id}/approve")
    assert response.status_code == 200, response.content
    return api(owner, "get", f"/api/v1/releases/{release_id}").json()


# --- who may do what --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_requester_cannot_approve_or_release_their_own_request_and_analysts_cannot_review(raw_and_safe, api, users):
    _, safe = raw_and_safe
    response = file(api, "alice", safe, BY_WARD)
    assert response.status_code == 201, response.content
    release = response.json()["id"]
    refused = api("alice", "post", f"/api/v1/releases/{release}/approve")
    assert refused.status_code == 400 and "another owner must approve" in refused.json()["error"]
    assert api("bob", "post", f"/api/v1/releases/{release}/approve").status_code == 403
    assert api("vera", "post", f"/api/v1/releases/{release}/reject").status_code == 403
    assert api("charlie", "get", f"/api/v1/releases/{release}").status_code == 404
    assert ReleaseRequest.objects.get(pk=release).state == "submitted" and not ReleaseRequest.objects.get(pk=release).job


@pytest.mark.django_db
def test_a_request_needs_a_reason_and_a_declaration_that_fits_the_safe_tier(raw_and_safe, api):
    raw, safe = raw_and_safe
    cases = [
        ({"reason": " ", "query": BY_WARD}, "Say why"),
        ({"reason": "r", "query": "{not json"}, "not valid JSON"),
        ({"reason": "r", "query": {**BY_WARD, "measures": [{"statistic": "mean", "column": "nope"}]}}, "no column 'nope'"),
        ({"reason": "r", "query": {**BY_WARD, "measures": [{"statistic": "mean", "column": "ward"}]}}, "holds texts"),
        ({"reason": "r", "query": {**BY_WARD, "groups": [{"column": "age", "bins": [50, 40]}]}}, "must increase"),
        ({"reason": "r", "query": {**BY_WARD, "surprise": 1}}, "Unknown field"),
        ({"reason": "r", "query": {**BY_WARD, "groups": [{"column": "ward", "values": [f"W{i}" for i in range(300)]}]}}, "At most 200"),
        ({"reason": "r"}, "Send the declared query"),
    ]
    for body, words in cases:
        response = api("bob", "post", f"/api/v1/versions/{safe.pk}/releases", data=body, content_type="application/json")
        assert response.status_code == 400 and words in response.json()["error"], (body, response.content)
    on_raw = api(
        "alice", "post", f"/api/v1/versions/{raw.pk}/releases", data={"reason": "r", "query": BY_WARD}, content_type="application/json"
    )
    assert on_raw.status_code == 400 and "safe version" in on_raw.json()["error"]
    assert (
        api(
            "bob", "post", f"/api/v1/versions/{raw.pk}/releases", data={"reason": "r", "query": BY_WARD}, content_type="application/json"
        ).status_code
        == 403
    )
    assert not ReleaseRequest.objects.exists()


@pytest.mark.django_db
def test_a_turn_drafts_its_declaration_whether_or_not_the_code_reset_the_index(raw_and_safe, api, users):
    _, safe = raw_and_safe
    for code in (CODE, CODE + ".reset_index()"):
        turn = answered_turn(safe, users["bob"], code=code)
        draft = api("bob", "get", f"/api/v1/turns/{turn.pk}/release").json()
        assert draft["query"]["groups"] == [{"column": "ward", "values": ["A", "B", "C", "D"]}], draft
        assert draft["query"]["measures"] == [{"statistic": "count"}, {"statistic": "mean", "column": "bili"}]
    filed = api("bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "ward report"}, content_type="application/json")
    assert filed.status_code == 201 and filed.json()["description"] == "count, mean of bili by ward"
    row_level = answered_turn(safe, users["bob"], code="result = df[['name', 'age']].head(20)")
    assert "error" in api("bob", "get", f"/api/v1/turns/{row_level.pk}/release").json()
    refused = api("bob", "post", f"/api/v1/turns/{row_level.pk}/release", data={"reason": "r"}, content_type="application/json")
    assert refused.status_code == 400 and "send one as 'query'" in refused.json()["error"]


@pytest.mark.django_db
def test_the_precheck_runs_the_declaration_on_the_safe_tier_with_the_same_rules(raw_and_safe, api):
    raw, safe = raw_and_safe
    checked = api("bob", "post", f"/api/v1/versions/{safe.pk}/precheck", data={"query": BY_WARD}, content_type="application/json").json()
    by_ward = cells_by_ward(checked)
    assert by_ward["A"]["count"]["value"] == 130 and by_ward["B"]["count"]["status"] == "suppressed"
    assert "below the threshold" in by_ward["B"]["count"]["reason"]  # the safe tier's reasons are the analyst's to read
    assert (
        api("alice", "post", f"/api/v1/versions/{raw.pk}/precheck", data={"query": BY_WARD}, content_type="application/json").status_code
        == 400
    )
    assert not ReleaseRequest.objects.exists()


# --- the run on RAW, the release and the ledger ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_checker_computes_the_declaration_on_raw_and_the_analyst_gets_the_released_cells_only(
    raw_and_safe, api, django_capture_on_commit_callbacks
):
    _, safe = raw_and_safe
    release = file(api, "bob", safe, BY_WARD).json()["id"]
    assert approve_and_run(api, release, django_capture_on_commit_callbacks)["state"] == "checked"
    owner = api("alice", "get", f"/api/v1/releases/{release}").json()
    checked = cells_by_ward(owner["checked"])
    assert checked["A"]["count"]["value"] == 130 and checked["A"]["count"]["exact"] == 128
    assert checked["B"]["count"]["status"] == "suppressed" and checked["B"]["count"]["n"] == 3
    assert checked["C"]["mean of bili"]["status"] == "suppressed" and "over 4 people" in checked["C"]["mean of bili"]["reason"]
    analyst = api("bob", "get", f"/api/v1/releases/{release}").json()
    assert analyst["state"] == "in review" and analyst["output"] is None and "checked" not in analyst and "history" not in analyst
    assert api("alice", "post", f"/api/v1/releases/{release}/release").json()["state"] == "released"
    seen = api("bob", "get", f"/api/v1/releases/{release}").json()
    assert seen["state"] == "released" and "checked" not in seen
    released = {row[0]: row[1:] for row in seen["output"]["rows"]}
    assert released["A"][0] == 130 and released["B"] == [None, None] and released["C"][1] is None
    assert seen["output"]["columns"] == ["ward", "count", "mean of bili"]
    text = json.dumps(seen["output"])
    assert "Patient" not in text and "128" not in text and "suppressed" not in text and "threshold" not in text
    entries = LedgerEntry.objects.filter(request_id=release)
    assert entries.count() == 5 and {e.statistic for e in entries} == {"count", "mean"}  # counts of A, C, D; means of A, D
    actions = set(AuditEvent.objects.filter(object_type="releaserequest", object_id=str(release)).values_list("action", flat=True))
    assert actions == {"release.request", "release.approve", "release.checked", "release.release"}


@pytest.mark.django_db
def test_the_ledger_refuses_a_second_request_that_would_subtract_to_a_small_group(raw_and_safe, api, django_capture_on_commit_callbacks):
    _, safe = raw_and_safe
    everyone = {"kind": "table", "measures": [{"statistic": "count"}, {"statistic": "sum", "column": "age"}]}
    first = file(api, "bob", safe, everyone).json()["id"]
    approve_and_run(api, first, django_capture_on_commit_callbacks)
    api("alice", "post", f"/api/v1/releases/{first}/release")
    assert api("bob", "get", f"/api/v1/releases/{first}").json()["output"]["rows"][0][0] == 230
    without_b = {**everyone, "filters": [{"column": "ward", "op": "!=", "value": "B"}]}  # everyone but ward B's 3
    second = file(api, "bob", safe, without_b).json()["id"]
    approve_and_run(api, second, django_capture_on_commit_callbacks)
    reasons = [c["reason"] for c in api("alice", "get", f"/api/v1/releases/{second}").json()["checked"]["rows"][0]]
    assert all("group of 3 record" in r for r in reasons), reasons
    api("alice", "post", f"/api/v1/releases/{second}/release")
    assert api("bob", "get", f"/api/v1/releases/{second}").json()["output"]["rows"] == [[None, None]]


@pytest.mark.django_db
def test_two_reviewers_when_the_policy_asks(raw_and_safe, api, users, django_capture_on_commit_callbacks):
    from workbench.accounts.actions import set_membership

    raw, safe = raw_and_safe
    dataset = raw.dataset
    dataset.policy = {**dataset.policy, "release_reviewers": 2}
    dataset.save()
    set_membership(workspace=dataset.workspace, actor=users["alice"], username="charlie", role="owner")
    release = file(api, "bob", safe, BY_WARD).json()["id"]
    assert api("alice", "post", f"/api/v1/releases/{release}/approve").json()["state"] == "submitted"  # one of two
    assert "already" in api("alice", "post", f"/api/v1/releases/{release}/approve").json()["error"]
    assert approve_and_run(api, release, django_capture_on_commit_callbacks, owner="charlie")["state"] == "checked"


@pytest.mark.django_db
def test_a_request_whose_run_failed_or_was_cancelled_ends_failed_at_the_next_sweep(raw_and_safe, api, users):
    from tasks.jobs import sweep
    from workbench.jobs.actions import cancel_job

    _, safe = raw_and_safe
    release = file(api, "bob", safe, BY_WARD).json()["id"]
    api("alice", "post", f"/api/v1/releases/{release}/approve")  # the job is queued (never sent: no commit here)
    request = ReleaseRequest.objects.get(pk=release)
    assert request.state == "approved" and request.job is not None
    cancel_job(job=request.job, user=users["alice"])
    assert sweep()["releases_ended"] == 1
    request.refresh_from_db()
    assert request.state == "failed" and request.history[-1]["note"] == "the run was cancelled"
    assert api("bob", "get", f"/api/v1/releases/{release}").json()["state"] == "not released"
    assert sweep()["releases_ended"] == 0


# --- Done-when 2: nothing the code chose, nothing from RAW before release ---------------------------------------------------


@pytest.mark.django_db
def test_no_string_the_code_chose_reaches_the_released_view_or_its_chart(
    raw_and_safe, api, client, users, django_capture_on_commit_callbacks
):
    _, safe = raw_and_safe
    hostile = (
        "t = df.groupby('ward').agg(**{'HIV positive, Pneumonia, cost 18437.25': ('age', 'size'), '<img src=x onerror=alert(1)>': ('bili', 'mean')})\n"
        "t.index.name = 'Patient 001 died'\n"
        "t.columns.name = 'note: Ann Smith 1961-02-03'\n"
        "print('Patient 007 is HIV positive')\n"
        "result = t"
    )
    turn = answered_turn(safe, users["bob"], code=hostile)
    release = api("bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "r"}, content_type="application/json")
    assert release.status_code == 201, release.content
    release = release.json()["id"]
    approve_and_run(api, release, django_capture_on_commit_callbacks)
    api("alice", "post", f"/api/v1/releases/{release}/release")
    output = api("bob", "get", f"/api/v1/releases/{release}").json()["output"]
    chart = json.loads(output["chart_json"])
    allowed = {
        "table",
        "ward",
        "count",
        "mean of bili",
        "A",
        "B",
        "C",
        "D",
        "Released values (cells not released are left out)",
        "bar",
        "group",
        "not released",
        "",
    }
    strings = set()

    def collect(node):
        if isinstance(node, str):
            strings.add(node)
        elif isinstance(node, dict):
            for _key, value in node.items():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect({k: v for k, v in output.items() if k not in ("chart_json", "description")})
    collect(chart)
    assert strings <= allowed, strings - allowed
    assert output["description"] == "count, mean of bili by ward"
    client.force_login(users["bob"])
    client_page = client.get(f"/r/{release}/").content.decode()
    for smuggled in ("HIV positive", "onerror", "Patient 0", "Ann Smith"):
        assert smuggled not in client_page


def _requester_view(api, client, release: int) -> tuple[str, str]:
    """The analyst's API document and page for a request, with its ids and dates blanked out."""
    document = api("bob", "get", f"/api/v1/releases/{release}").content.decode()
    page = client.get(f"/r/{release}/").content.decode()
    pattern = r"\d{4}-\d\d-\d\d[T ][\d:.+]+|#\d+|/\d+/|\"(id|dataset|turn)\": \d+|csrfmiddlewaretoken\" value=\"\w+|nonce=\"[\w+/=]+\""
    return re.sub(pattern, "_", document), re.sub(pattern, "_", page)


@pytest.mark.django_db
def test_the_requesters_view_of_an_unreleased_request_holds_nothing_from_raw(
    uploaded, api, client, users, django_capture_on_commit_callbacks
):
    """The same declaration on two real tables that differ (ward B of 3 people and of 30): whatever the runs found, the
    requester's API document and page are the same while the request is in review, rejected or failed; the run's job is
    not theirs to read."""
    client.force_login(users["bob"])
    views = {}
    for seed, b_size in ((7, 3), (8, 30)):
        frame = wards(seed)
        if b_size != 3:
            frame = pd.concat([frame, frame[frame["ward"] == "A"].head(b_size - 3).assign(ward="B")], ignore_index=True)
        raw = uploaded(frame.to_csv(index=False).encode(), filename="wards.csv")
        safe = Version.objects.create(
            dataset=raw.dataset, number=2, tier=Tier.SYNTHETIC, parent=raw, made_by={"kind": "test"}, file=raw.file, schema=raw.schema
        )
        release = file(api, "bob", safe, BY_WARD).json()["id"]
        submitted = _requester_view(api, client, release)
        approve_and_run(api, release, django_capture_on_commit_callbacks)
        request = ReleaseRequest.objects.get(pk=release)
        assert request.state == "checked"
        assert api("bob", "get", f"/api/v1/jobs/{request.job_id}").status_code == 404
        assert client.get(f"/jobs/{request.job_id}/").status_code == 404
        assert api("alice", "get", f"/api/v1/jobs/{request.job_id}").status_code == 200
        in_review = _requester_view(api, client, release)
        api("alice", "post", f"/api/v1/releases/{release}/reject", data={"note": "found ward B too small"}, content_type="application/json")
        rejected = _requester_view(api, client, release)
        views[seed] = (submitted, in_review, rejected)
    assert views[7] == views[8]
    for text in views[7][1]:
        assert "in review" in text
        for word in (
            "suppressed",
            "withheld",
            "released,",
            "threshold",
            "130",
            "<h2>History",
            '"history"',
            "approved",
            "running",
            "checked",
        ):
            assert word not in text, word


# --- differential privacy ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_with_dp_a_differencing_pair_returns_noised_answers_and_spends_epsilon(raw_and_safe, api, django_capture_on_commit_callbacks):
    raw, safe = raw_and_safe
    dataset = raw.dataset
    dataset.policy = {**dataset.policy, "release_mode": "dp", "dp_budget": {"epsilon": 2.0, "delta": 1e-5}}
    dataset.save()
    median = file(api, "bob", safe, {"kind": "table", "measures": [{"statistic": "median", "column": "age"}]})
    assert median.status_code == 400 and "only counts, sums and means" in median.json()["error"]
    total = {"kind": "table", "measures": [{"statistic": "sum", "column": "age"}], "bounds": {"age": [0, 100]}, "epsilon": 0.5}
    without_b = {**total, "filters": [{"column": "ward", "op": "!=", "value": "B"}]}
    answers = []
    for query in (total, without_b):
        release = file(api, "bob", safe, query).json()["id"]
        approve_and_run(api, release, django_capture_on_commit_callbacks)
        api("alice", "post", f"/api/v1/releases/{release}/release")
        output = api("bob", "get", f"/api/v1/releases/{release}").json()["output"]
        assert output["noise"]["epsilon"] == 0.5 and output["noise"]["measures"]["sum of age"]["scale"] == 200.0
        answers.append(output["rows"][0][0])
    frame = wards()
    truth = float(frame.loc[frame["ward"] == "B", "age"].sum())
    difference = answers[0] - answers[1]
    assert difference != truth  # exact only with probability ~0
    assert abs(difference - truth) < 200 * 40  # two Laplace(200) draws: beyond 8000 has probability under 1e-17
    assert sum(PrivacySpend.objects.filter(dataset=dataset).values_list("epsilon", flat=True)) == pytest.approx(1.0)
    # the budget's last ε: a request for more is refused at approval, and nothing runs
    greedy = file(api, "bob", safe, {**total, "epsilon": 1.5}).json()["id"]
    refused = api("alice", "post", f"/api/v1/releases/{greedy}/approve")
    assert refused.status_code == 400 and "budget" in refused.json()["error"]
    assert ReleaseRequest.objects.get(pk=greedy).state == "submitted"


def test_dp_noise_on_a_differencing_pair_is_as_wide_as_its_scale():
    """Many draws of the pair (through the checker, no budget spent): the difference's spread is the noise's."""
    from workbench.releases.checker import check_table_dp
    from workbench.releases.disclosure import Rules
    from workbench.releases.query import column_kinds, parse

    frame = wards()
    kinds = column_kinds(frame)
    total = parse({"measures": [{"statistic": "count"}]}, kinds)
    without_b = parse({"measures": [{"statistic": "count"}], "filters": [{"column": "ward", "op": "!=", "value": "B"}]}, kinds)
    errors = [
        check_table_dp(total, frame, Rules(), 1.0)["rows"][0][0]["value"]
        - check_table_dp(without_b, frame, Rules(), 1.0)["rows"][0][0]["value"]
        - 3
        for _ in range(300)
    ]
    spread = float(np.std(errors))
    assert 1.5 < spread < 2.5, spread  # two discrete Laplace draws of scale 1: a standard deviation of about 2
    assert np.mean(np.array(errors) == 0) < 0.5


# --- pages ---------------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_request_form_drafts_prechecks_and_sends(client, raw_and_safe, users):
    _, safe = raw_and_safe
    turn = answered_turn(safe, users["bob"])
    client.force_login(users["bob"])
    page = client.get(f"/t/{turn.pk}/release").content.decode()
    assert "drafted from its answer" in page and "&quot;ward&quot;" in page
    checked = client.post(f"/t/{turn.pk}/release", {"query": json.dumps(BY_WARD), "reason": "", "action": "precheck"}).content.decode()
    assert "Pre-check on SYNTHETIC v2" in checked and "below the threshold" in checked
    bad = client.post(f"/t/{turn.pk}/release", {"query": "{", "reason": "x", "action": "submit"})
    assert bad.status_code == 400 and "not valid JSON" in bad.content.decode() and not ReleaseRequest.objects.exists()
    sent = client.post(f"/t/{turn.pk}/release", {"query": json.dumps(BY_WARD), "reason": "board", "action": "submit"})
    release = ReleaseRequest.objects.get()
    assert sent.status_code == 302 and sent.url == f"/r/{release.pk}/"
    page = client.get(sent.url).content.decode()
    assert "submitted" in page and "count, mean of bili by ward" in page and "Approve" not in page
    blank = client.get(f"/v/{safe.pk}/release").content.decode()
    assert "&lt;a column&gt;" in blank


# --- end to end through a worker ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_an_analyst_asks_on_the_synthetic_tier_and_gets_only_the_released_cells_computed_on_raw_through_celery(
    start_worker, api, users, workspace
):
    """End to end through a real worker: the analyst's question is answered on a synthetic copy (the model is an
    OpenAI-compatible endpoint on loopback that writes CODE, so that the table is known), the declaration drafted from
    that answer is filed, approved by the owner, computed by the checker on RAW in the worker, released, and the analyst
    sees the released cells only."""
    chat = _chat_server(CODE)
    try:
        start_worker(
            "release", queues="cpu,gpu", WORKBENCH_LLM_BACKEND="openai", WORKBENCH_LLM_ENDPOINT=f"http://127.0.0.1:{chat.server_port}"
        )
        raw = Version.objects.get(pk=upload_through_worker(api, workspace, wards()).result["version"])
        job = api("alice", "post", f"/api/v1/versions/{raw.pk}/synthesize", data={"seed": 1}, content_type="application/json").json()["job"]
        job = finished(job["id"], 120, "synthesis")
        assert job.status == "succeeded", job.error
        synthetic = job.result["version"]

        asked = api(
            "bob",
            "post",
            f"/api/v1/versions/{synthetic}/conversations",
            data={"question": "patients and mean bilirubin per ward"},
            content_type="application/json",
        )
        assert asked.status_code in (201, 202), asked.content
        turn = wait_for(lambda: Turn.objects.filter(status__in=["answered", "failed"]).first(), 180, "the answer on the synthetic tier")
        assert turn.status == "answered" and turn.conversation.version_id == synthetic
        draft = api("bob", "get", f"/api/v1/turns/{turn.pk}/release").json()
        assert draft["query"]["measures"] == [{"statistic": "count"}, {"statistic": "mean", "column": "bili"}], draft

        filed = api(
            "bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "ward report for the board"}, content_type="application/json"
        )
        assert filed.status_code == 201, filed.content
        release = filed.json()["id"]
        assert api("alice", "post", f"/api/v1/releases/{release}/approve").json()["state"] == "approved"
        request = wait_for(
            lambda: ReleaseRequest.objects.filter(pk=release, state__in=["checked", "failed"]).first(), 120, "the run on RAW"
        )
        assert request.state == "checked", request.history

        assert api("bob", "get", f"/api/v1/releases/{release}").json()["output"] is None  # not released yet
        checked = cells_by_ward(api("alice", "get", f"/api/v1/releases/{release}").json()["checked"])
        assert checked["A"]["count"]["value"] == 130 and checked["A"]["count"]["n"] == 128
        assert api("alice", "post", f"/api/v1/releases/{release}/release").json()["state"] == "released"
        seen = api("bob", "get", f"/api/v1/releases/{release}").json()
        released = {row[0]: row[1:] for row in seen["output"]["rows"]}
        assert released["A"][0] == 130 and released.get("B", [None, None]) == [None, None]  # B: declared if the copy has it
        assert "Patient" not in json.dumps(seen["output"])
    finally:
        chat.shutdown()
        chat.server_close()


def _chat_server(code: str) -> ThreadingHTTPServer:
    """An OpenAI-compatible chat-completions endpoint on loopback: the first reply of every turn is `code` in a
    block, any later one (the closing sentence) plain words."""
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append(body)
            wants_code = "```" not in json.dumps(body["messages"][-1])
            text = f"```python\n{code}\n```" if wants_code else "Patients and mean bilirubin per ward."
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(f"data: {json.dumps({'choices': [{'delta': {'content': text}}]})}\n\ndata: [DONE]\n\n".encode())

        def log_message(self, *args):
            pass

    endpoint = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    return endpoint


# --- in the browser -----------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_whole_journey_in_the_browser_twice(server, browser, uploaded, users, settings):  # noqa: F811
    """An analyst opens the draft from an answer, pre-checks it, sends it; the owner approves, reads every cell and
    releases; the analyst sees the released table and its chart — twice, the second request beside the first's
    ledger. No page asks anything of another host, and no script error is raised."""
    settings.ALLOWED_HOSTS = ["*"]
    raw = uploaded(wards().to_csv(index=False).encode())
    safe = Version.objects.create(
        dataset=raw.dataset, number=2, tier=Tier.SYNTHETIC, parent=raw, made_by={"kind": "test"}, file=raw.file, schema=raw.schema
    )
    errors, foreign = [], []

    def person(name):
        page = browser.new_context().new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: foreign.append(request.url) if not request.url.startswith(server.url) else None)
        page.goto(f"{server.url}/login/")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", "correct-horse-battery")
        page.click("button.primary")
        return page

    analyst, owner = person("bob"), person("alice")
    for round_ in (1, 2):
        code = CODE if round_ == 1 else "result = df.groupby('ward')['age'].median()"
        turn = answered_turn(safe, users["bob"], code=code)
        analyst.goto(f"{server.url}/c/{turn.conversation_id}/")
        analyst.click("text=Ask for this on the real data")
        assert "drafted from its answer" in analyst.inner_text("main")
        analyst.click("text=Check it on SYNTHETIC v2")
        analyst.wait_for_selector("text=Pre-check on SYNTHETIC v2")
        assert "below the threshold" in analyst.inner_text("main")  # ward B's 3 people, on the safe tier
        analyst.fill("#release-reason", f"ward report {round_}")
        analyst.click("text=Send to the owners")
        analyst.wait_for_selector("h1 .badge:has-text('submitted')")
        release = ReleaseRequest.objects.order_by("-pk").first()
        owner.goto(f"{server.url}/r/{release.pk}/")
        owner.click("text=Approve: compute it on the real data")
        owner.wait_for_selector("text=Checked output")
        assert "below the threshold of 10" in owner.inner_text("main")
        owner.click("text=Release to bob")
        owner.wait_for_selector("h1 .badge:has-text('released')")
        analyst.goto(f"{server.url}/r/{release.pk}/")
        analyst.wait_for_selector(".chart .main-svg", timeout=15000)
        table = analyst.inner_text("table.checked")
        assert "not released" in table and "A" in table
        assert "threshold" not in analyst.inner_text("main")
    assert errors == [] and foreign == [], (errors, foreign)
