"""The release airlock: a turn's code runs on RAW only after an owner who did not ask approves it, every output
passes disclosure control, and the analyst sees only what an owner released."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from tests.conftest import finished, upload_through_worker, wait_for
from workbench.analysis.actions import seal
from workbench.analysis.models import Conversation, Turn
from workbench.audit.models import AuditEvent
from workbench.datasets.models import Tier, Version
from workbench.releases.models import ReleaseRequest
from workbench.storage import unwrap_key

# Wards sized so that one table shows every rule of the issue: ward B has 3 patients (suppressed, and ward C's count
# with it, since the total would give B's back), ward A 128 (rounded to 130), and ward C's lab value is known for
# 4 patients only (its mean is withheld).
CODE = "result = df.groupby('ward').agg(patients=('age', 'size'), mean_bili=('bili', 'mean'))"


def wards() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    sizes = {"A": 128, "B": 3, "C": 40, "D": 60}
    frame = pd.DataFrame({"ward": [w for w, n in sizes.items() for _ in range(n)]})
    frame["age"] = rng.integers(20, 90, len(frame))
    frame["bili"] = rng.gamma(2.0, 0.8, len(frame)).round(2)
    c_rows = frame.index[frame["ward"] == "C"]
    frame.loc[c_rows[4:], "bili"] = np.nan
    frame["name"] = [f"Patient {i:03d}" for i in range(len(frame))]
    return frame


def answered_turn(version: Version, user, code: str = CODE) -> Turn:
    """A turn answered on the safe tier, stored as the interpreter stores one (its record sealed)."""
    conversation = Conversation.objects.create(dataset=version.dataset, version=version, created_by=user)
    key = unwrap_key(version.dataset.wrapped_key)
    result = {
        "kind": "table",
        "columns": ["ward", "patients"],
        "rows": [["A", 120]],
        "total_rows": 1,
        "index_columns": 1,
        "columns_name": None,
    }
    record = {"question": "patients and mean bilirubin per ward", "code": code, "outcome": {"ok": True, "result": result}, "answer": "done"}
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


@pytest.mark.django_db
def test_a_requester_cannot_approve_or_release_their_own_request_and_analysts_cannot_review(raw_and_safe, api, users):
    raw, safe = raw_and_safe
    mine = answered_turn(safe, users["alice"])
    response = api("alice", "post", f"/api/v1/turns/{mine.pk}/release", data={"reason": "for the paper"}, content_type="application/json")
    assert response.status_code == 201, response.content
    release = response.json()["id"]
    refused = api("alice", "post", f"/api/v1/releases/{release}/approve")
    assert refused.status_code == 400 and "another owner must approve" in refused.json()["error"]
    assert api("bob", "post", f"/api/v1/releases/{release}/approve").status_code == 403
    assert api("vera", "post", f"/api/v1/releases/{release}/reject").status_code == 403
    assert api("charlie", "get", f"/api/v1/releases/{release}").status_code == 404
    assert ReleaseRequest.objects.get(pk=release).state == "submitted" and not ReleaseRequest.objects.get(pk=release).job


@pytest.mark.django_db
def test_a_request_needs_a_reason_and_an_answered_turn(raw_and_safe, api, users):
    _, safe = raw_and_safe
    turn = answered_turn(safe, users["bob"])
    assert (
        "Say why"
        in api("bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": " "}, content_type="application/json").json()["error"]
    )
    Turn.objects.filter(pk=turn.pk).update(status="failed")
    assert (
        "answered"
        in api("bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "x"}, content_type="application/json").json()["error"]
    )
    assert api("vera", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "x"}, content_type="application/json").status_code == 403
    assert not ReleaseRequest.objects.exists()


@pytest.mark.django_db
def test_two_reviewers_when_the_policy_asks_and_hostile_code_releases_nothing(raw_and_safe, api, users, django_capture_on_commit_callbacks):
    from workbench.accounts.actions import set_membership

    raw, safe = raw_and_safe
    dataset = raw.dataset
    dataset.policy = {**dataset.policy, "release_reviewers": 2}
    dataset.save()
    set_membership(workspace=dataset.workspace, actor=users["alice"], username="charlie", role="owner")
    hostile = "print(df.head().to_string())\nresult = df[['name', 'age']].head(50)"
    turn = answered_turn(safe, users["bob"], code=hostile)
    release = api("bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "r"}, content_type="application/json").json()["id"]
    assert api("alice", "post", f"/api/v1/releases/{release}/approve").json()["state"] == "submitted"  # one of two
    assert "already" in api("alice", "post", f"/api/v1/releases/{release}/approve").json()["error"]
    with django_capture_on_commit_callbacks(execute=True):
        assert api("charlie", "post", f"/api/v1/releases/{release}/approve").json()["state"] == "approved"
    document = api("alice", "get", f"/api/v1/releases/{release}").json()
    assert document["state"] == "checked", document
    checked = document["checked"]
    assert checked["kind"] == "none" and "row-level" in checked["reason"]
    assert any("printed output" in w for w in checked["withheld"])
    assert "Patient" not in json.dumps(document["checked"]["rows"])
    assert api("bob", "get", f"/api/v1/releases/{release}").json()["output"] is None


@pytest.mark.django_db
def test_a_request_whose_run_failed_or_was_cancelled_ends_failed_at_the_next_sweep(raw_and_safe, api, users):
    from tasks.jobs import sweep
    from workbench.jobs.actions import cancel_job

    _, safe = raw_and_safe
    turn = answered_turn(safe, users["bob"])
    release = api("bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "r"}, content_type="application/json").json()["id"]
    api("alice", "post", f"/api/v1/releases/{release}/approve")  # the job is queued (never sent: no commit here)
    request = ReleaseRequest.objects.get(pk=release)
    assert request.state == "approved" and request.job is not None
    cancel_job(job=request.job, user=users["alice"])
    assert sweep()["releases_ended"] == 1
    request.refresh_from_db()
    assert request.state == "failed" and request.history[-1]["note"] == "the run was cancelled"
    assert sweep()["releases_ended"] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_an_analyst_asks_on_the_synthetic_tier_and_gets_only_the_released_cells_of_a_run_on_raw_through_celery(
    start_worker, api, users, workspace
):
    """End to end through a real worker: the analyst's question is answered on a synthetic copy (the model is an
    OpenAI-compatible endpoint on loopback that writes CODE, so that the table is known), the run on RAW is approved
    by the owner, runs in the sandbox, is checked, released, and the analyst sees the released cells only."""
    server = _chat_server(CODE)
    try:
        start_worker(
            "release", queues="cpu,gpu", WORKBENCH_LLM_BACKEND="openai", WORKBENCH_LLM_ENDPOINT=f"http://127.0.0.1:{server.server_port}"
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

        filed = api(
            "bob", "post", f"/api/v1/turns/{turn.pk}/release", data={"reason": "ward report for the board"}, content_type="application/json"
        )
        assert filed.status_code == 201, filed.content
        release = filed.json()["id"]
        assert api("bob", "post", f"/api/v1/releases/{release}/approve").status_code == 403
        assert api("alice", "post", f"/api/v1/releases/{release}/approve").json()["state"] == "approved"
        request = wait_for(
            lambda: ReleaseRequest.objects.filter(pk=release, state__in=["checked", "failed"]).first(), 120, "the run on RAW"
        )
        assert request.state == "checked", request.history

        assert api("bob", "get", f"/api/v1/releases/{release}").json()["output"] is None  # not released yet
        checked = cells_by_ward(api("alice", "get", f"/api/v1/releases/{release}").json()["checked"])
        assert checked["A"]["patients"]["value"] == 130 and checked["A"]["patients"]["n"] == 128
        b = checked["(small group)"]  # ward B: 3 patients, its label hidden too
        assert b["patients"]["status"] == "suppressed" and b["patients"]["n"] == 3 and "below the threshold" in b["patients"]["reason"]
        assert checked["C"]["patients"]["status"] == "suppressed" and checked["C"]["patients"]["reason"].startswith("secondary")
        assert checked["C"]["mean_bili"]["status"] == "suppressed" and "over 4 people" in checked["C"]["mean_bili"]["reason"]
        assert checked["D"]["patients"]["value"] == 60

        assert api("alice", "post", f"/api/v1/releases/{release}/release").json()["state"] == "released"
        seen = api("bob", "get", f"/api/v1/releases/{release}").json()
        assert "checked" not in seen
        released = {row[0]: row[1:] for row in seen["output"]["rows"]}
        assert released["A"][0] == 130 and released["(small group)"] == [None, None] and released["C"] == [None, None]
        text = json.dumps(seen["output"])
        assert "Patient" not in text and '"B"' not in text and "128" not in text
        actions = set(AuditEvent.objects.filter(object_type="releaserequest", object_id=str(release)).values_list("action", flat=True))
        assert actions == {"release.request", "release.approve", "release.checked", "release.release"}
    finally:
        server.shutdown()
        server.server_close()


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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
