from tasks.base import run_job
from tasks.celery import app
from workbench.datasets import actions
from workbench.datasets.models import Version


@app.task(name="tasks.datasets.ingest_task")
def ingest_task(job_id: int, attempt: int = 1) -> None:
    def work(job, progress):
        version = actions.ingest_upload(job=job, progress=progress)
        actions.start_profile(version=version, user=job.created_by)
        return {"dataset": version.dataset_id, "version": version.pk, "rows": version.row_count, "columns": version.column_count}

    run_job(job_id, attempt, work)


@app.task(name="tasks.datasets.profile_task")
def profile_task(job_id: int, attempt: int = 1) -> None:
    def work(job, progress):
        version = Version.objects.select_related("dataset").get(pk=job.version_id)
        return actions.profile_version(version=version, progress=progress)

    run_job(job_id, attempt, work)
