"""Running a job: claim the row, keep a heartbeat, record progress and the outcome."""

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable

from django.conf import settings
from django.db import connection

from workbench.errors import Refused
from workbench.jobs import actions
from workbench.jobs.models import Job, JobStatus

logger = logging.getLogger(__name__)


class _Heartbeat(threading.Thread):
    def __init__(self, job_id: int):
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self.job_id = job_id
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                actions.beat_heart(self.job_id)
        finally:
            connection.close()


def _progress_reporter(job_id: int) -> Callable[[float, str], None]:
    last = [0.0]

    def report(percent: float, message: str = "") -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5:
            last[0] = now
            actions.report_progress(job_id, percent, message)

    return report


# `work` returns this when other tasks (a chord of chunks) carry the job on; the last of them finishes it.
DEFERRED = {"deferred": True}


def _run_guarded(job_id: int, kind: str, body: Callable[[], None]) -> None:
    """Run `body` with the job's heartbeat kept, and record a cancel or a failure on the Job row."""
    heartbeat = _Heartbeat(job_id)
    heartbeat.start()
    try:
        body()
    except actions.JobCancelled:
        actions.mark_cancelled(job_id)
    except actions.JobError as error:
        actions.fail_job(job_id, error=str(error), retryable=error.retryable)
    except Refused as refused:  # a check that also guards requests (a budget, a tier) refused the job's work
        actions.fail_job(job_id, error=str(refused), retryable=False)
    except Exception as error:
        # Exception texts from parsers may quote RAW cells: log the type and stack only.
        stack = "".join(traceback.format_tb(error.__traceback__))
        logger.error("job %s (%s) failed with %s\n%s", job_id, kind, type(error).__name__, stack)
        actions.fail_job(
            job_id,
            error=f"Internal error ({type(error).__name__}) while running this {kind} job; the worker log has details under job {job_id}.",
            retryable=True,
        )
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)


def run_job(job_id: int, attempt: int, work: Callable[[Job, Callable], dict]) -> None:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    job = actions.claim_job(job_id, attempt, worker)
    if job is None:
        logger.info("job %s attempt %s already taken, finished or cancelled; skipping", job_id, attempt)
        return

    def body() -> None:
        result = work(job, _progress_reporter(job_id))
        if result is not DEFERRED:
            actions.finish_job(job_id, result=result or {})

    _run_guarded(job_id, job.kind, body)


def continue_job(job_id: int, attempt: int, work: Callable[[Job], dict | None], *, last: bool = False) -> dict | None:
    """Run one piece of a fanned-out job (a chunk, or the chord's closing task) if that attempt is still running.

    A piece of an attempt the sweeper has since requeued, or of a cancelled or failed job, does nothing.
    The closing piece (`last`) finishes the job with what `work` returns."""
    job = Job.objects.filter(pk=job_id, attempts=attempt, status=JobStatus.RUNNING, cancel_requested=False).first()
    if job is None:
        logger.info("job %s attempt %s is no longer running; skipping a piece of it", job_id, attempt)
        return None
    outcome = {}

    def body() -> None:
        outcome["result"] = work(job)
        if last:
            actions.finish_job(job_id, result=outcome["result"] or {})

    _run_guarded(job_id, job.kind, body)
    return outcome.get("result")
