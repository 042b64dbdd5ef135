import platform
import time

from django.conf import settings

from tasks.base import run_job
from tasks.celery import app
from workbench.analysis.actions import end_turns_of_ended_jobs
from workbench.jobs.actions import sweep_stale_jobs
from workbench.releases.actions import end_releases_of_ended_jobs


def sweep() -> dict:
    """Jobs whose worker died are requeued or failed; then every stage that mirrors a job (a conversation's turn, a
    release request's run) ends with its job."""
    counts = sweep_stale_jobs()
    counts["turns_ended"] = end_turns_of_ended_jobs()
    counts["releases_ended"] = end_releases_of_ended_jobs()
    counts["box_groups_removed"] = _sweep_box_groups()
    return counts


def _sweep_box_groups() -> int:
    """The sandbox cgroups of workers on this host that are gone (killed mid-run); a live worker's are left alone."""
    from workbench.analysis import boxgroup

    try:
        return boxgroup.sweep(settings.SANDBOX_CGROUP or None)
    except OSError:  # no cgroup file system here, or not ours to write
        return 0


@app.task(name="tasks.jobs.sweep_task")
def sweep_task() -> dict:
    return sweep()


@app.task(name="tasks.jobs.diagnostic_task")
def diagnostic_task(job_id: int, attempt: int = 1) -> None:
    """A worker self-check: reports where it ran; with `seconds` it also holds the worker that long."""

    def work(job, progress):
        seconds = float(job.params.get("seconds", 0))
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            progress(100 * elapsed / seconds, f"Checking the worker ({elapsed:.0f}s of {seconds:.0f}s)")
            time.sleep(min(0.5, seconds - elapsed))
        return {"python": platform.python_version(), "host": platform.node()}

    run_job(job_id, attempt, work)
