"""Scan and anonymise jobs. Free text is split into chunks that a chord spreads over every free worker."""

from celery import chord

from tasks.base import DEFERRED, continue_job, run_job
from tasks.celery import app
from workbench.datasets.actions import start_profile
from workbench.jobs.actions import Attempt
from workbench.privacy import actions

# Share of the progress bar the chunks fill, per job kind.
CHUNK_PROGRESS = {"scan": (10, 95), "anonymize": (20, 80)}


def _attempt(job) -> Attempt:
    return Attempt(job_id=job.pk, number=job.attempts)


def _fan_out(job, chunks: int, closing) -> dict:
    low, high = CHUNK_PROGRESS[job.kind]
    header = [text_chunk_task.si(job.pk, job.attempts, index, chunks, low, high) for index in range(chunks)]
    chord(header)(closing.si(job.pk, job.attempts))
    return DEFERRED


@app.task(name="tasks.privacy.scan_task")
def scan_task(job_id: int, attempt: int = 1) -> None:
    def work(job, progress):
        result = actions.scan_version(version_id=job.version_id, attempt=_attempt(job), progress=progress)
        return _fan_out(job, result["chunks"], finish_scan_task) if "chunks" in result else result

    run_job(job_id, attempt, work)


@app.task(name="tasks.privacy.text_chunk_task", ignore_result=False)
def text_chunk_task(job_id: int, attempt: int, index: int, count: int, low: float, high: float) -> dict | None:
    return continue_job(
        job_id,
        attempt,
        lambda job: actions.process_text_chunk(
            version_id=job.version_id, attempt=_attempt(job), index=index, count=count, low=low, high=high
        ),
    )


@app.task(name="tasks.privacy.finish_scan_task")
def finish_scan_task(job_id: int, attempt: int) -> None:
    continue_job(job_id, attempt, lambda job: actions.finish_scan(version_id=job.version_id, attempt=_attempt(job)), last=True)


def _policy(job) -> dict:
    """What an anonymise job's parameters say, as the domain functions take it."""
    return {"rules": job.params["rules"], "policy_name": job.params.get("policy_name", ""), "user": job.created_by}


def _anonymized(job, version) -> dict:
    start_profile(version=version, user=job.created_by)
    chunks = version.made_by.get("text_chunks", {})
    return {
        "version": version.pk,
        "rows": version.row_count,
        "risk_after_min_k": version.made_by["risk_after"]["min_k"],
        **{f"text_{name}": value for name, value in chunks.items()},
    }


@app.task(name="tasks.privacy.anonymize_task")
def anonymize_task(job_id: int, attempt: int = 1) -> None:
    def work(job, progress):
        result = actions.anonymize_version(version_id=job.version_id, attempt=_attempt(job), progress=progress, **_policy(job))
        if isinstance(result, dict):
            return _fan_out(job, result["chunks"], finish_anonymize_task)
        return _anonymized(job, result)

    run_job(job_id, attempt, work)


@app.task(name="tasks.privacy.finish_anonymize_task")
def finish_anonymize_task(job_id: int, attempt: int) -> None:
    continue_job(
        job_id,
        attempt,
        lambda job: _anonymized(job, actions.finish_anonymize(version_id=job.version_id, attempt=_attempt(job), **_policy(job))),
        last=True,
    )
