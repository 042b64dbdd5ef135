from tasks.base import run_job
from tasks.celery import app
from workbench.releases import actions


@app.task(name="tasks.releases.release_task")
def release_task(job_id: int, attempt: int = 1) -> None:
    run_job(job_id, attempt, lambda job, progress: actions.run_release(release_id=int(job.params["release"]), progress=progress))
