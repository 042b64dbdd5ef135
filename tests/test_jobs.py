"""Job rows: progress, cancel, retry and the sweeper's rules (the real-worker version is in test_celery_worker)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks.base import run_job
from workbench.errors import Refused
from workbench.jobs import actions
from workbench.jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(workspace, users):
    from django.db import transaction

    with transaction.atomic():
        created = Job.objects.create(kind="diagnostic", workspace=workspace, created_by=users["alice"], params={"seconds": 0})
    return created


def test_a_job_runs_and_records_its_outcome(job):
    run_job(job.pk, 1, lambda j, progress: {"answer": 42})
    job.refresh_from_db()
    assert (job.status, job.progress, job.result) == ("succeeded", 100, {"answer": 42})
    assert job.started_at <= job.finished_at


def test_a_second_delivery_of_the_same_message_does_nothing(job):
    calls = []
    run_job(job.pk, 1, lambda j, p: calls.append(1) or {})
    run_job(job.pk, 1, lambda j, p: calls.append(1) or {})
    assert calls == [1]


def test_an_unexpected_error_is_recorded_without_its_text(job):
    def boom(j, progress):
        raise ValueError("cell value Jane Doe 1970-01-01")

    run_job(job.pk, 1, boom)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "ValueError" in job.error and "Jane" not in job.error
    assert job.retryable


def test_cancel_stops_a_running_job_at_its_next_progress_report(job, users):
    def work(j, progress):
        actions.cancel_job(job=Job.objects.get(pk=j.pk), user=users["alice"])
        actions.report_progress(j.pk, 50, "half way")
        raise AssertionError("not reached")

    run_job(job.pk, 1, work)
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_cancel_of_a_queued_job_is_immediate_and_retry_requeues_it(job, users, django_capture_on_commit_callbacks):
    actions.cancel_job(job=job, user=users["alice"])
    job.refresh_from_db()
    assert job.status == "cancelled"
    with django_capture_on_commit_callbacks(execute=True):
        actions.retry_job(job=job, user=users["alice"])
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2


def test_a_succeeded_job_cannot_be_retried(job, users):
    run_job(job.pk, 1, lambda j, p: {})
    job.refresh_from_db()
    with pytest.raises(Refused, match="Only a failed or cancelled job"):
        actions.retry_job(job=job, user=users["alice"])


def test_the_sweeper_requeues_then_fails_a_job_without_heartbeat(job, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(actions, "send_job", sent.append)  # the broker is not what this test is about
    old = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(status="running", heartbeat_at=old, max_attempts=2)
    fresh = Job.objects.create(kind="diagnostic", workspace=job.workspace, status="running", heartbeat_at=timezone.now())
    from django.db import transaction

    with transaction.atomic():
        assert actions.sweep_stale_jobs()["requeued"] == 1
    job.refresh_from_db()
    assert job.status == "queued" and job.attempts == 2
    assert "stopped responding" in job.message
    Job.objects.filter(pk=job.pk).update(status="running", heartbeat_at=old)
    assert actions.sweep_stale_jobs()["failed"] == 1
    job.refresh_from_db()
    assert job.status == "failed" and "stopped responding" in job.error
    fresh.refresh_from_db()
    assert fresh.status == "running"


def test_the_sweeper_resends_queued_jobs_that_no_worker_took(job, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(actions, "send_job", sent.append)
    Job.objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(seconds=settings.JOB_REQUEUE_QUEUED_SECONDS + 1))
    assert actions.sweep_stale_jobs()["resent"] == 1
    assert sent == [job.pk]


def test_beat_runs_the_sweeper_on_the_configured_period(settings):
    from tasks.celery import app

    entry = app.conf.beat_schedule["sweep-stale-jobs"]
    assert entry["task"] == "tasks.jobs.sweep_task"
    assert entry["schedule"] == float(settings.JOB_SWEEP_SECONDS)
    assert "tasks.jobs.sweep_task" in app.tasks


def test_the_job_page_polls_until_the_job_ends(client, users, job):
    client.force_login(users["alice"])
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and "<progress" in page
    run_job(job.pk, 1, lambda j, p: {})
    fragment = client.get(f"/jobs/{job.pk}/status", headers={"HX-Request": "true"})
    assert "every 1s" not in fragment.content.decode()
    assert fragment["HX-Trigger"] == "job-finished"


def test_the_sweeper_removes_staged_uploads_nobody_can_use(settings, job):
    import os
    import time

    folder = settings.DATA_DIR / "staging"
    folder.mkdir(parents=True, exist_ok=True)
    old, kept, fresh = folder / "old.upload.enc", folder / "kept.upload.enc", folder / "fresh.upload.enc"
    for path in (old, kept, fresh):
        path.write_bytes(b"x")
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    os.utime(kept, (day_ago, day_ago))
    Job.objects.filter(pk=job.pk).update(kind="ingest", status="failed", retryable=True, params={"staging": "staging/kept.upload.enc"})
    assert actions.sweep_stale_jobs()["staged_removed"] == 1
    assert not old.exists() and kept.exists() and fresh.exists()


def test_the_sweeper_removes_chunk_folders_of_ended_jobs_only(settings, job, workspace, users):
    from workbench.storage import data_path, job_work_path

    ended = Job.objects.create(kind="scan", workspace=workspace, status="failed")
    running = Job.objects.create(kind="scan", workspace=workspace, status="running", heartbeat_at=timezone.now())
    folders = {pk: data_path(job_work_path(pk, "attempt-1")) for pk in (ended.pk, running.pk, 10**9)}
    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / "input-00000.json.enc").write_bytes(b"x")
    assert actions.sweep_stale_jobs()["work_removed"] == 2
    assert folders[running.pk].exists() and not folders[ended.pk].exists() and not folders[10**9].exists()


def test_pieces_of_a_fanned_out_job_finish_it_once_and_skip_once_it_ended(job):
    from tasks.base import DEFERRED, continue_job

    run_job(job.pk, 1, lambda j, progress: DEFERRED)
    job.refresh_from_db()
    assert job.status == "running"  # the chord carries it on
    assert continue_job(job.pk, 1, lambda j: {"chunk": 0}) == {"chunk": 0}
    assert continue_job(job.pk, 2, lambda j: {"chunk": 1}) is None  # a piece of an attempt that was requeued
    continue_job(job.pk, 1, lambda j: {"done": True}, last=True)
    job.refresh_from_db()
    assert (job.status, job.result) == ("succeeded", {"done": True})
    assert continue_job(job.pk, 1, lambda j: {"chunk": 2}) is None
