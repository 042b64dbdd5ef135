"""The release airlock: an analyst asks for a turn's code to run on the RAW table, owners approve, the code runs in
the sandbox on RAW (only there, only then), every output passes disclosure control, and an owner releases or
rejects what the check left. The requester never approves or releases their own request."""

import json
import os
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workbench.analysis.actions import read_turn, seal, unseal
from workbench.analysis.models import Turn, TurnStatus
from workbench.audit.actions import record_event
from workbench.datasets.models import Tier, Version
from workbench.errors import Refused
from workbench.jobs.actions import create_job
from workbench.releases import disclosure
from workbench.releases.models import ReleaseRequest, ReleaseState
from workbench.storage import unwrap_key

MAX_REASON_CHARS = 2000


def reviewers_needed(dataset) -> int:
    return 2 if int(dataset.policy.get("release_reviewers", 1) or 1) >= 2 else 1


def raw_source(version: Version) -> Version | None:
    """The RAW version a safe-tier version was derived from (its lineage), or the dataset's newest RAW one."""
    seen = set()
    current = version
    while current is not None and current.pk not in seen:
        if current.tier == Tier.RAW:
            return current
        seen.add(current.pk)
        current = current.parent
    return version.dataset.versions.filter(tier=Tier.RAW).order_by("-number").first()


def _history(request: ReleaseRequest, state: str, user, note: str = "") -> list:
    return [
        *request.history,
        {"state": state, "by": getattr(user, "username", None) or "system", "at": timezone.now().isoformat(), "note": note},
    ]


def _key(request: ReleaseRequest) -> bytes:
    return unwrap_key(request.dataset.wrapped_key)


def request_release(*, turn: Turn, user, reason: str) -> ReleaseRequest:
    """File a request to run an answered turn's code on the real data."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused("Say why this result is needed on the real data; the owner reads it before approving.")
    if len(reason) > MAX_REASON_CHARS:
        raise Refused(f"The reason may have at most {MAX_REASON_CHARS:,} characters.")
    if turn.status != TurnStatus.ANSWERED:
        raise Refused("Only an answered question can be run on the real data.")
    record = read_turn(turn)
    code = (record.get("code") or "").strip()
    if not code:
        raise Refused("This answer has no code to run.")
    dataset = turn.conversation.dataset
    raw = raw_source(turn.conversation.version)
    if raw is None:
        raise Refused("This dataset has no RAW version to run the code on.")
    with transaction.atomic():
        request = ReleaseRequest.objects.create(
            dataset=dataset,
            turn=turn,
            raw_version=raw,
            reason=reason,
            reviewers_needed=reviewers_needed(dataset),
            # the code, and what it gave on the safe tier (for the reviewer to compare; the analyst saw it already)
            sealed_code=seal(unwrap_key(dataset.wrapped_key), {"code": code, "safe_result": (record.get("outcome") or {}).get("result")}),
            requested_by=user,
            history=[{"state": ReleaseState.SUBMITTED, "by": user.username, "at": timezone.now().isoformat(), "note": ""}],
        )
        record_event(actor=user, action="release.request", obj=request, workspace_id=dataset.workspace_id, details={"turn": turn.pk})
    return request


def _locked_for_decision(request: ReleaseRequest, user, verb: str, states: tuple) -> ReleaseRequest:
    """The request's row, locked, when `user` may `verb` it now: it is in one of `states` and they did not ask for it.
    Call inside a transaction."""
    request = ReleaseRequest.objects.select_for_update().select_related("dataset__workspace").get(pk=request.pk)
    if request.state not in states:
        raise Refused(f"This request is {request.state}; only a {' or '.join(states)} request can be {verb}d.")
    if request.requested_by_id == user.pk:
        raise Refused(f"You asked for this run, so another owner must {verb} it.")
    return request


def _decide(request: ReleaseRequest, user, state: str, note: str = "") -> None:
    request.state = state
    request.history = _history(request, state, user, note)
    request.decided_by, request.decided_at = user, timezone.now()
    request.save()


def approve_release(*, request: ReleaseRequest, user) -> ReleaseRequest:
    """One owner's approval; with as many as the policy asks for, the run on RAW is queued."""
    with transaction.atomic():
        request = _locked_for_decision(request, user, "approve", (ReleaseState.SUBMITTED,))
        if any(a["user"] == user.username for a in request.approvals):
            raise Refused("You have approved this request already; it needs another owner's approval.")
        request.approvals = [*request.approvals, {"user": user.username, "at": timezone.now().isoformat()}]
        request.history = _history(request, "approval", user, f"{len(request.approvals)} of {request.reviewers_needed}")
        if len(request.approvals) >= request.reviewers_needed:
            request.state = ReleaseState.APPROVED
            request.history = _history(request, ReleaseState.APPROVED, user)
            request.job = create_job(
                kind="release",
                user=user,
                workspace=request.dataset.workspace,
                dataset=request.dataset,
                version=request.raw_version,
                params={"release": request.pk},
            )
        request.save()
        record_event(
            actor=user,
            action="release.approve",
            obj=request,
            workspace_id=request.dataset.workspace_id,
            details={"approvals": len(request.approvals)},
        )
    return request


def reject_release(*, request: ReleaseRequest, user, note: str = "") -> ReleaseRequest:
    with transaction.atomic():
        request = _locked_for_decision(request, user, "reject", (ReleaseState.SUBMITTED, ReleaseState.CHECKED))
        _decide(request, user, ReleaseState.REJECTED, (note or "").strip()[:MAX_REASON_CHARS])
        record_event(actor=user, action="release.reject", obj=request, workspace_id=request.dataset.workspace_id)
    return request


def release_output(*, request: ReleaseRequest, user) -> ReleaseRequest:
    """Let the analyst see the checked output (its released cells only)."""
    with transaction.atomic():
        request = _locked_for_decision(request, user, "release", (ReleaseState.CHECKED,))
        _decide(request, user, ReleaseState.RELEASED)
        summary = (unseal(_key(request), request.sealed_output) or {}).get("summary", {}).get("cells", {})
        record_event(
            actor=user, action="release.release", obj=request, workspace_id=request.dataset.workspace_id, details={"cells": summary}
        )
    return request


def read_code(request: ReleaseRequest) -> str:
    return (unseal(_key(request), request.sealed_code) or {}).get("code", "")


def read_safe_result(request: ReleaseRequest) -> dict | None:
    """The result the code gave on the safe tier when the request was filed (a table or a value)."""
    result = (unseal(_key(request), request.sealed_code) or {}).get("safe_result")
    return result if isinstance(result, dict) and result.get("kind") in ("table", "value", "text") else None


def read_checked(request: ReleaseRequest) -> dict | None:
    """The checked output as an owner reviews it: every cell, released or not, with its reason."""
    return unseal(_key(request), request.sealed_output)


def read_released(request: ReleaseRequest, checked: dict | None = None) -> dict | None:
    """What the analyst may see: nothing until it is released, then the released cells only (from `checked` when
    the caller has unsealed it already)."""
    if request.state != ReleaseState.RELEASED:
        return None
    checked = checked if checked is not None else read_checked(request)
    if checked is None:
        return None
    view = disclosure.released_view(checked)
    view["chart_json"] = json.dumps(checked["chart"], ensure_ascii=False, allow_nan=False) if checked.get("chart") else ""
    view["withheld"] = checked.get("withheld", [])
    return view


def end_releases_of_ended_jobs() -> int:
    """For the sweeper: a request whose run was approved but whose job ended without checking it (the worker died
    twice, someone cancelled the job) ends failed with the job's reason, so no request shows "running" for ever."""
    from workbench.jobs.models import JobStatus

    ended = 0
    stale = ReleaseRequest.objects.filter(
        state__in=[ReleaseState.APPROVED, ReleaseState.RUNNING], job__status__in=[JobStatus.FAILED, JobStatus.CANCELLED]
    ).select_related("job")
    for request in stale:
        reason = "the run was cancelled" if request.job.status == JobStatus.CANCELLED else (request.job.error or "the run failed")
        ended += ReleaseRequest.objects.filter(pk=request.pk, state=request.state).update(
            state=ReleaseState.FAILED, history=_history(request, ReleaseState.FAILED, None, reason[:500])
        )
    return ended


# --- the worker's side ------------------------------------------------------------------------------------------


def run_release(*, release_id: int, progress) -> dict:
    """Run an approved request's code on its RAW version in the sandbox and check every output."""
    request = ReleaseRequest.objects.select_related("dataset", "raw_version__dataset").get(pk=release_id)
    if request.state not in (ReleaseState.APPROVED, ReleaseState.RUNNING):
        raise Refused(f"This request is {request.state}; only an approved request runs.")
    ReleaseRequest.objects.filter(pk=request.pk).update(state=ReleaseState.RUNNING, history=_history(request, ReleaseState.RUNNING, None))
    try:
        checked = _run_and_check(request, progress)
    except Exception:
        request.refresh_from_db()
        ReleaseRequest.objects.filter(pk=request.pk).update(
            state=ReleaseState.FAILED, history=_history(request, ReleaseState.FAILED, None, "the run failed in the worker")
        )
        raise
    request.refresh_from_db()
    ReleaseRequest.objects.filter(pk=request.pk).update(
        state=ReleaseState.CHECKED,
        sealed_output=seal(_key(request), checked),
        history=_history(request, ReleaseState.CHECKED, None, _summary_line(checked)),
    )
    record_event(
        actor=None,
        action="release.checked",
        obj=request,
        workspace_id=request.dataset.workspace_id,
        details={"cells": checked["summary"]["cells"]},
    )
    return {"release": request.pk, **checked["summary"]["cells"]}


def _summary_line(checked: dict) -> str:
    cells = checked["summary"]["cells"]
    return f"{cells['released']} released, {cells['suppressed']} suppressed, {cells['withheld']} withheld"


def _run_and_check(request: ReleaseRequest, progress) -> dict:
    from workbench.analysis import sandbox
    from workbench.datasets.actions import read_table

    rules = disclosure.Rules.from_policy(request.dataset.policy)
    scratch = Path(settings.SCRATCH_DIR)
    scratch.mkdir(parents=True, exist_ok=True)
    progress(10, "Running the code on the real data in the sandbox")
    with tempfile.TemporaryDirectory(prefix="release-", dir=scratch) as folder:
        table = read_table(request.raw_version)
        # RAW is decrypted into memory only (an anonymous memfd the box gets a read-only descriptor of), never onto a
        # disk where a crashed worker would leave it
        memory = os.memfd_create("release-table", os.MFD_CLOEXEC)
        try:
            with os.fdopen(os.dup(memory), "wb") as out:
                pq.write_table(table, out)
            outcome = sandbox.run(
                read_code(request), f"/proc/self/fd/{memory}", limits=sandbox.Limits.from_settings(), scratch=Path(folder)
            )
        finally:
            os.close(memory)
        progress(70, "Checking every output for disclosure")
        frame = table.to_pandas(date_as_object=False)  # as the sandbox reads it: dates as datetime64
        if outcome.ok:
            checked = disclosure.check_result(outcome.result, frame, rules)
        else:
            kind = (outcome.error or {}).get("type", "SandboxStopped")
            checked = disclosure.check_result(None, frame, rules)
            checked["error"] = {"type": kind, "message": (outcome.error or {}).get("message", "")[:500]}  # for owners only
    withheld = []
    if outcome.stdout.strip():
        withheld.append(f"printed output ({len(outcome.stdout):,} characters): printed text is never released")
    if outcome.figures:
        withheld.append(f"{len(outcome.figures)} figure(s) the code drew: charts are rebuilt from the checked table only")
    checked["withheld"] = withheld
    checked["rules"] = rules.as_json()
    checked["layers"] = outcome.layers
    checked["chart"] = disclosure.chart_of(checked)
    return checked
