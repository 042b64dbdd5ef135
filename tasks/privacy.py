from tasks.base import run_job
from tasks.celery import app
from workbench.datasets.actions import start_profile
from workbench.datasets.models import Version
from workbench.privacy import actions


@app.task(name="tasks.privacy.scan_task")
def scan_task(job_id: int, attempt: int = 1) -> None:
    def work(job, progress):
        version = Version.objects.select_related("dataset").get(pk=job.version_id)
        return actions.scan_version(version=version, progress=progress)

    run_job(job_id, attempt, work)


@app.task(name="tasks.privacy.anonymize_task")
def anonymize_task(job_id: int, attempt: int = 1) -> None:
    def work(job, progress):
        version = actions.anonymize_version(job=job, progress=progress)
        start_profile(version=version, user=job.created_by)
        return {"version": version.pk, "rows": version.row_count, "risk_after_min_k": version.made_by["risk_after"]["min_k"]}

    run_job(job_id, attempt, work)
