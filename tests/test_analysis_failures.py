"""A question always ends in an answer or a clear failure: a model process killed by SIGILL or SIGKILL ends the turn
failed with that reason while the worker takes the next job; a turn whose job the sweeper fails ends failed with the
sweeper's reason; a job whose worker died twice is not retried into the same crash; a turn can be cancelled and
retried, by its conversation's members only."""

import os
import signal
import subprocess
import time
from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

from tests.conftest import finished, wait_for
from workbench.analysis import actions
from workbench.analysis.models import Conversation, Turn, TurnStatus
from workbench.datasets.models import Tier
from workbench.jobs.models import Job, JobStatus


def _model_processes() -> list[int]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout.splitlines()
    return [int(line.split()[0]) for line in listing if "workbench.analysis._model_process" in line and "ps -eo" not in line]


@pytest.fixture
def safe_version(uploaded):
    version = uploaded(b"sex,bili\nf,1.0\nm,2.0\nf,3.0\nm,4.0\n", filename="safe.csv")
    version.tier = Tier.SYNTHETIC
    version.save(update_fields=["tier"])
    return version


@pytest.fixture
def running_turn(safe_version, users):
    """A turn whose ask job a worker claimed and then stopped sending heartbeats for."""
    conversation = Conversation.objects.create(dataset=safe_version.dataset, version=safe_version, created_by=users["bob"])
    job = Job.objects.create(
        kind="ask",
        queue="gpu",
        workspace=safe_version.dataset.workspace,
        dataset=safe_version.dataset,
        version=safe_version,
        status=JobStatus.RUNNING,
        params={},
        max_attempts=2,
        heartbeat_at=timezone.now(),
    )
    turn = Turn.objects.create(conversation=conversation, number=1, question="mean bili", status=TurnStatus.RUNNING, job=job)
    job.params = {"turn": turn.pk}
    job.save(update_fields=["params"])
    return turn


def test_a_turn_whose_job_the_sweeper_fails_ends_failed_with_the_reason_and_can_be_retried(
    running_turn, client, users, settings, monkeypatch
):
    from tasks.jobs import sweep
    from workbench.jobs import actions as job_actions

    monkeypatch.setattr(job_actions, "send_job", lambda job_id: None)  # the broker is not what this test is about
    old = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 5)
    lost = {"at": old.isoformat(), "event": "The worker process stopped responding (last heartbeat …); requeued as attempt 2 of 2."}
    Job.objects.filter(pk=running_turn.job_id).update(heartbeat_at=old, attempts=2, events=[lost])
    counts = sweep()
    assert counts["failed"] == 1 and counts["turns_ended"] == 1
    job = Job.objects.get(pk=running_turn.job_id)
    assert job.status == "failed" and "twice" in job.error and "not retried into the same crash" in job.error
    turn = Turn.objects.get(pk=running_turn.pk)
    assert turn.status == TurnStatus.FAILED
    assert "not retried into the same crash" in actions.read_turn(turn)["failed"]

    client.force_login(users["bob"])
    html = client.get(f"/c/{turn.conversation_id}/").content.decode()
    assert "not retried into the same crash" in html and "Retry" in html and 'data-status="failed"' in html
    response = client.post(f"/t/{turn.pk}/retry")
    assert response.status_code == 302
    turn.refresh_from_db()
    assert turn.status == TurnStatus.QUEUED and turn.job_id != job.pk
    assert Job.objects.get(pk=turn.job_id).status == "queued"


def test_a_turn_shows_its_jobs_end_even_before_the_sweeper_runs(running_turn, client, users):
    Job.objects.filter(pk=running_turn.job_id).update(
        status=JobStatus.FAILED, error="The model process was killed by signal 9 (SIGKILL, killed)."
    )
    client.force_login(users["bob"])
    html = client.get(f"/t/{running_turn.pk}/").content.decode()
    assert 'data-status="failed"' in html and "signal 9" in html and "hx-trigger" not in html


def test_a_running_turn_is_cancelled_by_a_member_and_404_for_an_outsider(running_turn, client, users):
    client.force_login(users["charlie"])
    assert client.post(f"/t/{running_turn.pk}/cancel").status_code == 404
    assert client.post(f"/t/{running_turn.pk}/retry").status_code == 404
    assert client.get(f"/t/{running_turn.pk}/").status_code == 404
    client.force_login(users["vera"])  # a viewer reads, but does not run
    assert client.post(f"/t/{running_turn.pk}/cancel").status_code == 403
    client.force_login(users["bob"])
    assert "Cancel" in client.get(f"/c/{running_turn.conversation_id}/").content.decode()
    client.post(f"/t/{running_turn.pk}/cancel")
    assert Job.objects.get(pk=running_turn.job_id).cancel_requested
    # the worker notices the cancel at its next progress report and records it; the turn then ends
    Job.objects.filter(pk=running_turn.job_id).update(status=JobStatus.CANCELLED)
    turn = actions.sync_turn(Turn.objects.get(pk=running_turn.pk))
    assert turn.status == TurnStatus.FAILED and actions.read_turn(turn)["failed"] == "Cancelled."


def test_a_turn_is_cancelled_and_retried_through_the_api(running_turn, api):
    assert api("charlie", "post", f"/api/v1/turns/{running_turn.pk}/cancel").status_code == 404
    assert api("bob", "post", f"/api/v1/turns/{running_turn.pk}/retry").status_code == 400  # still running
    assert api("bob", "post", f"/api/v1/turns/{running_turn.pk}/cancel").status_code == 200
    Job.objects.filter(pk=running_turn.job_id).update(status=JobStatus.CANCELLED)
    body = api("bob", "get", f"/api/v1/conversations/{running_turn.conversation_id}").json()
    assert body["turns"][0]["status"] == "failed" and body["turns"][0]["error"] == "Cancelled."
    retried = api("bob", "post", f"/api/v1/turns/{running_turn.pk}/retry")
    assert retried.status_code == 202 and retried.json()["turn"]["status"] == "queued"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_sigill_or_sigkill_of_the_model_process_fails_the_turn_with_the_reason_and_the_worker_takes_the_next_job(
    start_worker, api, workspace, users
):
    """Through a real Celery worker with the small model: the model's process is killed with SIGILL (what an AMX
    build does on a VM that cannot run it), then with SIGKILL; each turn ends failed saying so, and the same worker
    answers the third question."""
    from tests.conftest import upload_through_worker
    from workbench.datasets.models import Version

    start_worker("llm", queues="cpu,gpu", WORKBENCH_LLM_MODEL="qwen2.5-coder-0.5b")
    frame = pd.DataFrame({"sex": ["f", "m"] * 20, "bili": [float(i % 7) for i in range(40)]})
    version = Version.objects.get(pk=upload_through_worker(api, workspace, frame).result["version"])
    Version.objects.filter(pk=version.pk).update(tier=Tier.SYNTHETIC)  # the test is about the model, not synthesis
    first = api(
        "bob", "post", f"/api/v1/versions/{version.pk}/conversations", data={"question": "mean bili"}, content_type="application/json"
    )
    assert first.status_code == 202, first.content
    conversation = first.json()["conversation"]
    turn_ids = [first.json()["turn"]["id"]]
    killed: set[int] = set(_model_processes())  # none of this test's, if any
    for sig in (signal.SIGILL, signal.SIGKILL):
        wait_for(lambda: Turn.objects.filter(pk=turn_ids[-1], status="running").exists(), 120, "the turn to start")
        pids = wait_for(lambda done=frozenset(killed): set(_model_processes()) - done or None, 120, "the model process")
        for pid in pids:
            os.kill(pid, sig)
        killed |= pids
        turn = wait_for(lambda: Turn.objects.filter(pk=turn_ids[-1], status__in=["answered", "failed"]).first(), 120, "the turn to end")
        assert turn.status == "failed"
        reason = actions.read_turn(turn)["failed"]
        assert f"signal {int(sig)} ({sig.name}" in reason, reason
        if sig == signal.SIGILL:
            assert "illegal instruction" in reason and "make install" in reason
        job = finished(turn.job_id, 60, "the job to be recorded")  # the turn is written just before the job
        assert job.status == "failed" and f"signal {int(sig)}" in job.error
        follow = api(
            "bob",
            "post",
            f"/api/v1/conversations/{conversation}/turns",
            data={"question": "mean bili by sex"},
            content_type="application/json",
        )
        assert follow.status_code == 202, follow.content
        turn_ids.append(follow.json()["turn"]["id"])
        time.sleep(0.5)
    last = wait_for(lambda: Turn.objects.filter(pk=turn_ids[-1], status__in=["answered", "failed"]).first(), 300, "the third answer")
    record = actions.read_turn(last)
    assert last.status == "answered", record
    assert record["outcome"]["layers"]["seccomp"] is True
