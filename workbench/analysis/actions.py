"""Domain functions of the interpreter: start a conversation or a turn, answer it (in a worker), read it back."""

import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workbench.analysis.models import Conversation, Turn, TurnStatus
from workbench.audit.actions import record_event
from workbench.datasets.models import Tier, Version
from workbench.errors import Refused
from workbench.jobs.actions import JobCancelled, JobError, cancel_job, create_job
from workbench.jobs.models import Job, JobStatus
from workbench.releases.infer import infer
from workbench.releases.query import QueryError
from workbench.storage import unwrap_key

FINISHED_JOBS = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]

MAX_QUESTION_CHARS = 2000
STREAM_EVERY_SECONDS = 0.4


def interpreter_tier(dataset) -> str:
    return dataset.policy.get("interpreter_tier") or Tier.SYNTHETIC


def check_version(version: Version) -> None:
    """Conversations read only the safe tier the dataset's policy names; RAW never, whatever the policy says."""
    tier = interpreter_tier(version.dataset)
    if version.tier == Tier.RAW or tier == Tier.RAW:
        raise Refused("Questions go to the model about a safe tier only (SYNTHETIC or ANONYMIZED), never RAW data.")
    if version.tier != tier:
        raise Refused(f"This dataset's policy lets the interpreter read its {tier} versions; this version is {version.tier}.")
    if version.tier == Tier.ANONYMIZED:
        k = int(version.dataset.policy.get("k", 5))
        reached = (version.made_by.get("risk_after") or {}).get("min_k")
        if reached is None or reached < k:
            raise Refused(
                f"This ANONYMIZED version reaches k = {reached if reached is not None else 'unknown'}, below the policy's k = {k}: "
                "the interpreter reads an anonymised version only when it meets the policy."
            )


def start_conversation(*, version: Version, user, question: str) -> Turn:
    check_version(version)
    _check_question(question)
    with transaction.atomic():
        conversation = Conversation.objects.create(dataset=version.dataset, version=version, created_by=user)
        record_event(actor=user, action="conversation.start", obj=conversation, workspace_id=version.dataset.workspace_id)
        return _queue_turn(conversation, user, question)


def ask(*, conversation: Conversation, user, question: str) -> Turn:
    check_version(conversation.version)
    _check_question(question)
    if conversation.turns.exclude(status__in=[TurnStatus.ANSWERED, TurnStatus.FAILED]).exists():
        raise Refused("The previous question is still being answered; ask the next one when it is done.")
    with transaction.atomic():
        return _queue_turn(conversation, user, question)


def _check_question(question: str) -> None:
    if not question or not question.strip():
        raise Refused("Ask a question.")
    if len(question) > MAX_QUESTION_CHARS:
        raise Refused(f"A question may have at most {MAX_QUESTION_CHARS:,} characters.")


def _ask_job(turn: Turn, user):
    conversation = turn.conversation
    return create_job(
        kind="ask",
        user=user,
        workspace=conversation.dataset.workspace,
        dataset=conversation.dataset,
        version=conversation.version,
        params={"turn": turn.pk},
    )


def _queue_turn(conversation: Conversation, user, question: str) -> Turn:
    number = (conversation.turns.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    turn = Turn.objects.create(conversation=conversation, number=number, question=question.strip(), created_by=user)
    job = _ask_job(turn, user)
    Turn.objects.filter(pk=turn.pk).update(job=job)
    turn.job = job
    record_event(
        actor=user, action="conversation.ask", obj=conversation, workspace_id=conversation.dataset.workspace_id, details={"turn": number}
    )
    return turn


# --- turns whose job ended ------------------------------------------------------------------------------------


def sync_turn(turn: Turn) -> Turn:
    """A turn still queued or running whose job has ended (a task error, the sweeper, a cancel, a worker that died)
    ends failed with the job's own reason, so no turn shows "running" after its job is gone."""
    if turn.is_finished or turn.job_id is None:
        return turn
    job = Job.objects.filter(pk=turn.job_id).first()
    if job is None or not job.is_finished:
        return turn
    if job.status == JobStatus.CANCELLED:
        reason = "Cancelled."
    elif job.status == JobStatus.FAILED:
        reason = job.error or "The job failed."
    else:  # succeeded without recording the turn: should not happen; say so rather than spin
        reason = "The job ended without recording an answer; retry the question."
    key = unwrap_key(turn.conversation.dataset.wrapped_key)
    document = {"question": turn.question, "failed": reason, "answer": ""}
    updated = Turn.objects.filter(pk=turn.pk, status__in=[TurnStatus.QUEUED, TurnStatus.RUNNING]).update(
        record=seal(key, document), status=TurnStatus.FAILED, finished_at=timezone.now()
    )
    if updated:
        turn.refresh_from_db()
    return turn


def end_turns_of_ended_jobs() -> int:
    """For the sweeper: every unfinished turn whose job has ended, ended with the job's reason."""
    ended = 0
    stale = Turn.objects.filter(status__in=[TurnStatus.QUEUED, TurnStatus.RUNNING], job__status__in=FINISHED_JOBS)
    for turn in stale.select_related("conversation__dataset"):
        ended += sync_turn(turn).status == TurnStatus.FAILED
    return ended


def cancel_turn(*, turn: Turn, user) -> Turn:
    if turn.is_finished:
        return turn
    if turn.job_id:
        cancel_job(job=turn.job, user=user)
    return sync_turn(turn)


def retry_turn(*, turn: Turn, user) -> Turn:
    """The same question again, on a new job (a failed turn only)."""
    if turn.status != TurnStatus.FAILED:
        raise Refused("Only a failed question can be retried.")
    check_version(turn.conversation.version)
    conversation = turn.conversation
    with transaction.atomic():
        job = _ask_job(turn, user)
        Turn.objects.filter(pk=turn.pk).update(job=job, status=TurnStatus.QUEUED, record=b"", stream=b"", finished_at=None, seconds=None)
        record_event(
            actor=user,
            action="conversation.retry",
            obj=conversation,
            workspace_id=conversation.dataset.workspace_id,
            details={"turn": turn.number},
        )
    turn.refresh_from_db()
    return turn


# --- sealing ----------------------------------------------------------------------------------------------------


def seal(key: bytes, document) -> bytes:
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, json.dumps(document, default=str).encode(), b"turn")


def unseal(key: bytes, sealed: bytes):
    sealed = bytes(sealed)
    if not sealed:
        return None
    return json.loads(AESGCM(key).decrypt(sealed[1:13], sealed[13:], b"turn"))


def read_turn(turn: Turn) -> dict:
    """The turn as the page shows it: its record once finished, or the reply so far."""
    key = unwrap_key(turn.conversation.dataset.wrapped_key)
    record = unseal(key, turn.record) or {}
    record.setdefault("stream", unseal(key, turn.stream) or "")
    return record


# --- the worker's side ------------------------------------------------------------------------------------------


def answer_turn(*, turn_id: int, progress) -> dict:
    from workbench.analysis.interpreter import Interpreter
    from workbench.analysis.interpreter import Turn as Answer
    from workbench.analysis.llm import ModelUnavailable, get_model
    from workbench.datasets.actions import read_table

    turn = Turn.objects.select_related("conversation__dataset", "conversation__version").get(pk=turn_id)
    conversation = turn.conversation
    check_version(conversation.version)
    key = unwrap_key(conversation.dataset.wrapped_key)
    Turn.objects.filter(pk=turn.pk).update(status=TurnStatus.RUNNING)
    history = []
    for earlier in conversation.turns.filter(number__lt=turn.number, status=TurnStatus.ANSWERED).order_by("number"):
        record = unseal(key, earlier.record) or {}
        history.append(Answer(record.get("question", earlier.question), code=record.get("code", "")))
    progress(5, "Loading the model")
    try:
        model = get_model()
    except ModelUnavailable as error:
        _finish(turn, key, {"question": turn.question, "failed": str(error), "answer": ""}, failed=True)
        raise JobError(str(error), retryable=True) from None
    scratch = Path(settings.SCRATCH_DIR)
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ask-", dir=scratch) as folder:
        table = read_table(conversation.version)  # the safe tier, decrypted into a private folder for the sandbox
        data_file = Path(folder) / "table.parquet"
        pq.write_table(table, data_file)
        frame = table.to_pandas(date_as_object=False)  # as the sandbox reads it: dates as datetime64
        stream = _Streamer(turn.pk, key, progress)
        interpreter = Interpreter.from_settings(model, scratch=Path(folder))
        try:
            answer = interpreter.ask(turn.question, frame, data_file, history=history, on_event=stream)
        except JobCancelled:
            _finish(turn, key, {"question": turn.question, "failed": "Cancelled.", "answer": "Cancelled."}, failed=True)
            raise
        except ModelUnavailable as error:  # the model's process crashed or could not load: its reason, in words
            _finish(turn, key, {"question": turn.question, "failed": str(error), "answer": ""}, failed=True)
            raise JobError(str(error), retryable=True) from None
        except Exception as error:
            message = f"The turn failed in the worker ({type(error).__name__}); ask again or tell the site admin."
            _finish(turn, key, {"question": turn.question, "failed": message, "answer": message}, failed=True)
            raise
    stream.flush()
    document = answer.to_json()
    document["model"] = model.name
    document["release_query"] = _release_draft(document, frame)
    failed = bool(answer.failed) or not (answer.outcome and answer.outcome.ok)
    _finish(turn, key, document, failed=failed)
    return {
        "turn": turn.pk,
        "conversation": conversation.pk,
        "answered": not failed,
        "attempts": answer.attempts,
        "candidates": len(answer.candidates),
        "agreement": answer.agreement,
        "seconds": round(answer.seconds, 1),
    }


def _release_draft(document: dict, frame) -> dict:
    """The declared query that gives the answer's table on this safe tier, for asking for it on the real data (or why
    there is none). Never fails the turn."""
    result = (document.get("outcome") or {}).get("result")
    try:
        return {"query": infer(result, frame, document.get("code") or "")}
    except QueryError as problem:
        return {"error": str(problem)}
    except Exception as error:  # a draft is a convenience: any failure leaves the analyst to write the query
        return {"error": f"the answer could not be read as a table ({type(error).__name__})"}


def _finish(turn: Turn, key: bytes, document: dict, *, failed: bool) -> None:
    Turn.objects.filter(pk=turn.pk).update(
        record=seal(key, document),
        status=TurnStatus.FAILED if failed else TurnStatus.ANSWERED,
        finished_at=timezone.now(),
        seconds=document.get("seconds"),
    )


class _Streamer:
    """Keeps the reply so far on the turn row (sealed), a few times a second, so the page shows it as it grows."""

    def __init__(self, turn_id: int, key: bytes, progress):
        self.turn_id, self.key, self.progress = turn_id, key, progress
        self.text, self.last, self.stage = "", 0.0, "model"

    def __call__(self, kind: str, value) -> None:
        if kind == "token":
            self.text += value
            if time.monotonic() - self.last >= STREAM_EVERY_SECONDS:
                self.flush()
        elif kind == "code":
            self.text += "\n\n[running the code in the sandbox…]\n\n"
            self.flush()
            self.progress(60, "Running the code in the sandbox")
        elif kind == "candidate":
            self.text += f"\n\n[candidate {value}: another program, to see whether it gives the same answer]\n\n"
            self.flush()
        elif kind == "summary":
            self.text += "\n\n[putting the answer into words…]\n\n"
            self.progress(85, "Putting the answer into words")
        elif kind == "model":
            self.progress(20, "The model is writing")

    def flush(self) -> None:
        self.last = time.monotonic()
        Turn.objects.filter(pk=self.turn_id).update(stream=seal(self.key, self.text))
