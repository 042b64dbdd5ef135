"""Creating, running, cancelling, retrying and sweeping jobs. The Job row is the source of truth."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workbench.audit.actions import record_event
from workbench.errors import Refused
from workbench.jobs.models import Job, JobStatus

logger = logging.getLogger(__name__)

# kind -> (Celery task name, queue)
TASKS = {
    "ingest": ("tasks.datasets.ingest_task", "cpu"),
    "profile": ("tasks.datasets.profile_task", "cpu"),
    "diagnostic": ("tasks.jobs.diagnostic_task", "cpu"),
    "scan": ("tasks.privacy.scan_task", "cpu"),
    "anonymize": ("tasks.privacy.anonymize_task", "cpu"),
    "synthesize": ("tasks.synthesis.synthesize_task", "cpu"),
    "ask": ("tasks.analysis.ask_task", "gpu"),
    "release": (
        "tasks.releases.release_task",
        "cpu",
    ),  # a turn's code on RAW, then disclosure control  # LLM turns: the worker that keeps the model loaded
}


def _with_event(job: Job, text: str) -> list:
    return [*job.events, {"at": timezone.now().isoformat(), "event": text}][-50:]


@dataclass(frozen=True)
class Attempt:
    """Which run of a job a piece of work belongs to; it names the run's scratch folder, so that a requeued run
    never reads an earlier one's chunks."""

    job_id: int
    number: int


class JobCancelled(Exception):
    """Raised inside a running job when its owner asked to cancel it."""


class JobError(Exception):
    """A failure whose message is safe to show (it never holds cell values)."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


def create_job(*, kind: str, user, workspace, params: dict | None = None, dataset=None, version=None, queue: str | None = None) -> Job:
    """A queued job row; the task is sent when the transaction commits. `queue` overrides the kind's own (cpu or gpu)."""
    task_name, default_queue = TASKS[kind]
    job = Job.objects.create(
        kind=kind,
        queue=queue or default_queue,
        params=params or {},
        workspace=workspace,
        dataset=dataset,
        version=version,
        created_by=user if getattr(user, "pk", None) else None,
        max_attempts=settings.JOB_MAX_ATTEMPTS,
        message="Waiting for a worker",
    )
    transaction.on_commit(lambda: send_job(job.pk))
    return job


def send_job(job_id: int) -> None:
    from tasks.celery import app

    job = Job.objects.get(pk=job_id)
    task_name, _ = TASKS[job.kind]
    app.tasks[task_name].apply_async(args=[job.pk, job.attempts], queue=job.queue)


def claim_job(job_id: int, attempt: int, worker: str) -> Job | None:
    """Move a queued job to running; None when another delivery of the message got there first."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED, attempts=attempt).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, finished_at=None, worker=worker, progress=0, message="Started"
    )
    return Job.objects.get(pk=job_id) if claimed else None


def report_progress(job_id: int, progress: float, message: str = "") -> None:
    """Record progress (0–100) and a heartbeat; raise JobCancelled if cancelling was asked for."""
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        progress=max(0, min(99, int(progress))), message=message[:500], heartbeat_at=timezone.now()
    )
    if Job.objects.filter(pk=job_id, cancel_requested=True).exists():
        raise JobCancelled()


def beat_heart(job_id: int) -> None:
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())


def finish_job(job_id: int, *, result: dict, message: str = "Done") -> None:
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.SUCCEEDED, progress=100, result=result, message=message, finished_at=timezone.now()
    )


def fail_job(job_id: int, *, error: str, retryable: bool) -> None:
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.FAILED, error=error, retryable=retryable, message="Failed", finished_at=timezone.now()
    )


def mark_cancelled(job_id: int) -> None:
    Job.objects.filter(pk=job_id).exclude(status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).update(
        status=JobStatus.CANCELLED, message="Cancelled", finished_at=timezone.now()
    )


def cancel_job(*, job: Job, user) -> Job:
    if job.is_finished:
        return job
    with transaction.atomic():
        if job.status == JobStatus.QUEUED:
            Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
                status=JobStatus.CANCELLED, cancel_requested=True, message="Cancelled before it started", finished_at=timezone.now()
            )
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            cancel_requested=True, message="Cancelling…", events=_with_event(job, f"Cancel asked by {user.username}")
        )
        record_event(actor=user, action="job.cancel", obj=job, workspace_id=job.workspace_id)
    job.refresh_from_db()
    return job


def retry_job(*, job: Job, user) -> Job:
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED) or not job.retryable:
        raise Refused("Only a failed or cancelled job whose input is still there can be retried.")
    with transaction.atomic():
        _requeue(job, message=f"Retried by {user.username}; waiting for a worker")
        record_event(actor=user, action="job.retry", obj=job, workspace_id=job.workspace_id)
    job.refresh_from_db()
    return job


def _requeue(job: Job, *, message: str, only_if_status: str | None = None) -> bool:
    rows = Job.objects.filter(pk=job.pk)
    if only_if_status:
        rows = rows.filter(status=only_if_status, heartbeat_at=job.heartbeat_at)
    updated = rows.update(
        status=JobStatus.QUEUED,
        events=_with_event(job, message),
        attempts=job.attempts + 1,
        progress=0,
        error="",
        message=message,
        cancel_requested=False,
        queued_at=timezone.now(),
        started_at=None,
        finished_at=None,
        heartbeat_at=None,
        worker="",
    )
    if updated:
        transaction.on_commit(lambda: send_job(job.pk))
    return bool(updated)


_LOST = "The worker process stopped responding"


def sweep_stale_jobs(*, now=None) -> dict:
    """Fail or requeue running jobs whose worker stopped sending heartbeats; re-send lost queued jobs."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    for job in Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before):
        last = timezone.localtime(job.heartbeat_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        lost_before = sum(1 for event in job.events if str(event.get("event", "")).startswith(_LOST))
        with transaction.atomic():
            if job.retryable and job.attempts < job.max_attempts and not lost_before:
                message = f"{_LOST} (last heartbeat {last}); requeued as attempt {job.attempts + 1} of {job.max_attempts}."
                if _requeue(job, message=message, only_if_status=JobStatus.RUNNING):
                    counts["requeued"] += 1
                    logger.warning("job %s requeued after its worker stopped responding", job.pk)
                continue
            if lost_before:
                error = (
                    f"{_LOST} twice while running this job (last heartbeat {last}): the job most likely crashes the worker "
                    "(an illegal instruction, running out of memory), so it was not retried into the same crash. "
                    "The worker's log has the signal; `manage.py doctor` checks the model and the sandbox on that machine."
                )
            else:
                error = (
                    f"{_LOST} (last heartbeat {last}) after {job.attempts} attempt(s), so the job was marked failed. "
                    "The worker's log says why it stopped; retry once a worker is running."
                )
            updated = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at).update(
                status=JobStatus.FAILED, error=error, message="Worker lost", finished_at=now, events=_with_event(job, error)
            )
            counts["failed"] += updated
            if updated:
                logger.warning("job %s failed: its worker stopped responding", job.pk)
    counts["staged_removed"] = _remove_orphaned_uploads(now)
    counts["work_removed"] = _remove_finished_work()
    resend_before = now - timedelta(seconds=settings.JOB_REQUEUE_QUEUED_SECONDS)
    for job in Job.objects.filter(status=JobStatus.QUEUED, queued_at__lt=resend_before):
        Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            queued_at=now, message="Re-sent to the queue (no worker had picked it up)"
        )
        send_job(job.pk)
        counts["resent"] += 1
    return counts


STAGED_UPLOAD_MAX_AGE = timedelta(hours=24)


def _remove_orphaned_uploads(now) -> int:
    """Delete staged (encrypted) uploads that no job can still use: abandoned requests, finished jobs."""
    from workbench.storage import data_path

    folder = data_path("staging")
    if not folder.exists():
        return 0
    in_use = {
        job.params.get("staging")
        for job in Job.objects.filter(kind="ingest").exclude(status=JobStatus.SUCCEEDED).only("params")
        if not (job.status == JobStatus.FAILED and not job.retryable)
    }
    removed = 0
    for path in folder.iterdir():
        age = now.timestamp() - path.stat().st_mtime
        if age > STAGED_UPLOAD_MAX_AGE.total_seconds() and f"staging/{path.name}" not in in_use:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _remove_finished_work() -> int:
    """Delete the scratch folders (chunks) of jobs that are no longer queued or running, or no longer exist."""
    from workbench.storage import data_path, remove_job_work

    folder = data_path("work")
    if not folder.exists():
        return 0
    ids = {int(path.name.removeprefix("job-")) for path in folder.glob("job-*") if path.name.removeprefix("job-").isdigit()}
    active = set(Job.objects.filter(pk__in=ids, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).values_list("pk", flat=True))
    for job_id in ids - active:
        remove_job_work(job_id)
    return len(ids - active)
