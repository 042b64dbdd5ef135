from tasks.base import run_job
from tasks.celery import app
from workbench.datasets import actions
from workbench.datasets.models import Version


@app.task(name="tasks.datasets.ingest_task")
def ingest_task(job_id: int, attempt: int = 1) -> None:
    def work(job, progress):
        params = job.params
        version = actions.ingest_upload(
            job_id=job.pk,
            workspace_id=job.workspace_id,
            user=job.created_by,
            staging=params["staging"],
            staging_key=params["staging_key"],
            filename=params["filename"],
            name=params["name"],
            content_type=params.get("content_type", ""),
            progress=progress,
        )
        actions.start_profile(version=version, user=job.created_by)
        return {"dataset": version.dataset_id, "version": version.pk, "rows": version.row_count, "columns": version.column_count}

    run_job(job_id, attempt, work)


@app.task(name="tasks.datasets.profile_task")
def profile_task(job_id: int, attempt: int = 1) -> None:
    def work(job, progress):
        version = Version.objects.select_related("dataset").get(pk=job.version_id)
        return actions.profile_version(version=version, progress=progress)

    run_job(job_id, attempt, work)
