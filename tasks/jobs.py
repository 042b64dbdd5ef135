import platform
import time

from tasks.base import run_job
from tasks.celery import app
from workbench.jobs.actions import sweep_stale_jobs


@app.task(name="tasks.jobs.sweep_task")
def sweep_task() -> dict:
    return sweep_stale_jobs()


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
