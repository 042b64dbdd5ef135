from tasks.base import run_job
from tasks.celery import app
from workbench.datasets.actions import start_profile
from workbench.synthesis import actions


@app.task(name="tasks.synthesis.synthesize_task")
def synthesize_task(job_id: int, attempt: int = 1) -> None:
    def work(job, progress):
        params = job.params
        version = actions.synthesize_version(
            version_id=job.version_id,
            job_id=job.pk,
            user=job.created_by,
            method=params["method"],
            rows=int(params["rows"]),
            target=params.get("target"),
            seed=int(params.get("seed", 0)),
            epsilon=params.get("epsilon"),
            delta=params.get("delta"),
            choices=params.get("columns") or None,
            text_epsilon=params.get("text_epsilon"),
            progress=progress,
        )
        start_profile(version=version, user=job.created_by)
        return {
            "version": version.pk,
            "rows": version.row_count,
            "fidelity_score": version.made_by["fidelity_score"],
            "exact_copies_removed": version.made_by["exact_copies_removed"],
        }

    run_job(job_id, attempt, work)
