from tasks.base import run_job
from tasks.celery import app
from workbench.analysis import actions


@app.task(name="tasks.analysis.ask_task")
def ask_task(job_id: int, attempt: int = 1) -> None:
    run_job(job_id, attempt, lambda job, progress: actions.answer_turn(turn_id=int(job.params["turn"]), progress=progress))
