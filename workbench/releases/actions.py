"""The release airlock: an analyst asks for a *declared query* (checked on the safe tier first), owners approve, the
checker computes it on the RAW version itself — no code runs on RAW — and decides every cell by the disclosure
rules and the dataset's ledger of earlier releases (or answers with differential privacy, spending ε from the
dataset's budget); an owner releases or rejects what it left. The requester never approves or releases their own
request, and learns nothing of a run before its release: their view holds the request as they asked it and its state
in four words (submitted, in review, released, not released)."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workbench.analysis.actions import read_turn
from workbench.analysis.charts import clean_figure
from workbench.analysis.models import Turn, TurnStatus
from workbench.audit.actions import record_event
from workbench.datasets.actions import read_table
from workbench.datasets.models import Dataset, Tier, Version
from workbench.errors import Refused
from workbench.jobs.actions import create_job
from workbench.releases import checker, disclosure
from workbench.releases.checker import Entry
from workbench.releases.models import LedgerEntry, ReleaseMode, ReleaseRequest, ReleaseState
from workbench.releases.query import BOOL, DATE, NUMBER, TEXT, Query, QueryError, column_kinds, parse
from workbench.storage import open_version, seal, unseal, unwrap_key
from workbench.synthesis import ledger as budget

MAX_REASON_CHARS = 2000
MAX_QUERY_BYTES = 64_000
PRECHECK_SECONDS = 20.0
SEALED = "release"  # the purpose release records are sealed for


def reviewers_needed(dataset) -> int:
    return 2 if int(dataset.policy.get("release_reviewers", 1) or 1) >= 2 else 1


def release_mode(dataset) -> str:
    return ReleaseMode.DP if dataset.policy.get("release_mode") == ReleaseMode.DP else ReleaseMode.RULES


def default_epsilon(dataset) -> float:
    return float(dataset.policy.get("release_epsilon", settings.RELEASE_EPSILON))


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


def _key(dataset: Dataset) -> bytes:
    return unwrap_key(dataset.wrapped_key)


# --- declarations -----------------------------------------------------------------------------------------------


def kinds_of(version: Version) -> dict[str, str]:
    """The columns of a version and their kinds, from its Parquet schema (no row is read)."""
    with open_version(version) as source:
        schema = pq.ParquetFile(source).schema_arrow
    return {field.name: _arrow_kind(field.type) for field in schema}


def _arrow_kind(kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return BOOL
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return NUMBER
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return DATE
    return TEXT


def declaration(document, version: Version) -> Query:
    """A declaration checked against the safe version's columns (a column the safe tier does not hold, such as one
    anonymisation dropped, cannot be named). Refused with every problem in words."""
    if isinstance(document, str):
        if len(document) > MAX_QUERY_BYTES:
            raise Refused(f"A query may have at most {MAX_QUERY_BYTES:,} characters.")
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            raise Refused(f"The query is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}).") from None
    elif len(json.dumps(document, default=str)) > MAX_QUERY_BYTES:
        raise Refused(f"A query may have at most {MAX_QUERY_BYTES:,} characters.")
    try:
        query = parse(document, kinds_of(version))
    except QueryError as problem:
        raise Refused(str(problem)) from None
    if release_mode(version.dataset) == ReleaseMode.DP:
        problems = checker.dp_problems(query)
        if problems:
            raise Refused(" ".join(problems))
    return query


def draft_for_turn(turn: Turn) -> dict:
    """The declaration drafted from a turn's answer on the safe tier when it was answered: {"query": ...} or
    {"error": why there is none}."""
    record = read_turn(turn)
    draft = record.get("release_query")
    if isinstance(draft, dict) and ("query" in draft or "error" in draft):
        return draft
    return {"error": "This answer was given before drafts were made; write the query for it."}


def precheck(*, version: Version, document, user) -> dict:
    """The declared query computed on a safe version with the same rules and ledger as a release would be: what would
    be held back and why, before anyone is asked. The values are the safe tier's, which the analyst reads already."""
    query = declaration(document, version)
    frame = read_table(version).to_pandas(date_as_object=False)
    rules = disclosure.Rules.from_policy(version.dataset.policy)
    if release_mode(version.dataset) == ReleaseMode.DP:
        checked = checker.check(query, frame, rules, [], seconds=PRECHECK_SECONDS)
        checked["notes"] = [*checked.get("notes", []), _dp_note(query, version.dataset)]
    else:
        checked = checker.check(query, frame, rules, prior_entries(version.dataset, released_only=True), seconds=PRECHECK_SECONDS)
    record_event(
        actor=user,
        action="release.precheck",
        obj=version,
        workspace_id=version.dataset.workspace_id,
        details={"query": query.describe()[:200]},
    )
    return checked


def _dp_note(query: Query, dataset: Dataset) -> str:
    epsilon = query.epsilon or default_epsilon(dataset)
    return f"On the real data this is answered with differential privacy (ε = {epsilon:g}): values shown here are exact on the safe tier; the released ones carry noise."


# --- requests ---------------------------------------------------------------------------------------------------


def request_release(*, user, version: Version, document, reason: str, turn: Turn | None = None) -> ReleaseRequest:
    """File a request for a declared query on the real data behind a safe version."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused("Say why this result is needed on the real data; the owner reads it before approving.")
    if len(reason) > MAX_REASON_CHARS:
        raise Refused(f"The reason may have at most {MAX_REASON_CHARS:,} characters.")
    if version.tier == Tier.RAW:
        raise Refused("Write the query against a safe version (SYNTHETIC or ANONYMIZED); it then runs on the real data.")
    if turn is not None and turn.status != TurnStatus.ANSWERED:
        raise Refused("Only an answered question can be asked for on the real data.")
    query = declaration(document, version)
    dataset = version.dataset
    raw = raw_source(version)
    if raw is None:
        raise Refused("This dataset has no RAW version to compute the query on.")
    mode = release_mode(dataset)
    epsilon = (query.epsilon or default_epsilon(dataset)) if mode == ReleaseMode.DP else None
    code = (read_turn(turn).get("code") or "") if turn is not None else ""
    with transaction.atomic():
        request = ReleaseRequest.objects.create(
            dataset=dataset,
            turn=turn,
            version=version,
            raw_version=raw,
            query=query.as_json(),
            description=query.describe()[:1000],
            mode=mode,
            epsilon=epsilon,
            reason=reason,
            reviewers_needed=reviewers_needed(dataset),
            sealed_code=seal(_key(dataset), {"code": code}, purpose=SEALED),  # context for the reviewer; never run
            requested_by=user,
            history=[{"state": ReleaseState.SUBMITTED, "by": user.username, "at": timezone.now().isoformat(), "note": ""}],
        )
        record_event(
            actor=user,
            action="release.request",
            obj=request,
            workspace_id=dataset.workspace_id,
            details={"turn": turn.pk if turn else None, "query": query.describe()[:200], "mode": mode},
        )
    return request


def _locked_for_decision(request: ReleaseRequest, user, verb: str, states: tuple) -> ReleaseRequest:
    """The request's row, locked, when `user` may `verb` it now: it is in one of `states` and they did not ask for it.
    Call inside a transaction."""
    request = ReleaseRequest.objects.select_for_update().select_related("dataset__workspace").get(pk=request.pk)
    if request.state not in states:
        raise Refused(f"This request is {request.state}; only a {' or '.join(states)} request can be {verb}d.")
    if request.requested_by_id == user.pk:
        raise Refused(f"You asked for this release, so another owner must {verb} it.")
    return request


def _decide(request: ReleaseRequest, user, state: str, note: str = "") -> None:
    request.state = state
    request.history = _history(request, state, user, note)
    request.decided_by, request.decided_at = user, timezone.now()
    request.save()


def approve_release(*, request: ReleaseRequest, user) -> ReleaseRequest:
    """One owner's approval; with as many as the policy asks for, the computation on RAW is queued (and, with
    differential privacy, its ε is spent from the dataset's budget first: refused if the budget has not enough)."""
    with transaction.atomic():
        request = _locked_for_decision(request, user, "approve", (ReleaseState.SUBMITTED,))
        if any(a["user"] == user.username for a in request.approvals):
            raise Refused("You have approved this request already; it needs another owner's approval.")
        if not request.query:
            raise Refused("This request was filed as code before releases were declared queries; ask the analyst to file it again.")
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
            if request.mode == ReleaseMode.DP:
                Dataset.objects.select_for_update().filter(pk=request.dataset_id).first()
                budget.spend(dataset=request.dataset, epsilon=float(request.epsilon), delta=0.0, user=user, job=request.job)
        request.save()
        record_event(
            actor=user,
            action="release.approve",
            obj=request,
            workspace_id=request.dataset.workspace_id,
            details={"approvals": len(request.approvals), "epsilon": request.epsilon},
        )
    return request


def reject_release(*, request: ReleaseRequest, user, note: str = "") -> ReleaseRequest:
    with transaction.atomic():
        request = _locked_for_decision(request, user, "reject", (ReleaseState.SUBMITTED, ReleaseState.CHECKED))
        _decide(request, user, ReleaseState.REJECTED, (note or "").strip()[:MAX_REASON_CHARS])
        record_event(actor=user, action="release.reject", obj=request, workspace_id=request.dataset.workspace_id)
    return request


def release_output(*, request: ReleaseRequest, user) -> ReleaseRequest:
    """Let the analyst see the checked output (its released cells only), and write its row sets into the ledger."""
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=request.dataset_id).first()
        request = _locked_for_decision(request, user, "release", (ReleaseState.CHECKED,))
        checked = read_checked(request) or {}
        key = _key(request.dataset)
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    dataset=request.dataset,
                    request=request,
                    region=entry["region"],
                    statistic=entry["statistic"],
                    column=entry.get("column"),
                    protected=bool(entry.get("protected")),
                    sealed_value=seal(key, {"exact": entry.get("exact"), "released": entry.get("released")}, purpose="ledger"),
                )
                for entry in checked.get("entries", [])
            ]
        )
        _decide(request, user, ReleaseState.RELEASED)
        record_event(
            actor=user,
            action="release.release",
            obj=request,
            workspace_id=request.dataset.workspace_id,
            details={"cells": (checked.get("summary") or {}).get("cells", {}), "ledger_entries": len(checked.get("entries", []))},
        )
    return request


def read_code(request: ReleaseRequest) -> str:
    return (unseal(_key(request.dataset), request.sealed_code, purpose=SEALED) or {}).get("code", "")


def read_checked(request: ReleaseRequest) -> dict | None:
    """The checked output as an owner reviews it: every cell, released or not, with its reason."""
    return unseal(_key(request.dataset), request.sealed_output, purpose=SEALED)


def read_released(request: ReleaseRequest, checked: dict | None = None) -> dict | None:
    """What the analyst may see: nothing until it is released, then the released cells only (from `checked` when the
    caller has unsealed it already) and a chart of them."""
    if request.state != ReleaseState.RELEASED:
        return None
    checked = checked if checked is not None else read_checked(request)
    if not checked or checked.get("kind") not in ("table", "regression"):
        return None
    view = disclosure.released_view(checked)
    chart = disclosure.chart_of(view)
    chart = clean_figure(chart) if chart else None  # labels come from the declaration: drawn as plain text only
    view["chart_json"] = json.dumps(chart, ensure_ascii=False, allow_nan=False) if chart else ""
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


# --- the ledger -------------------------------------------------------------------------------------------------


def prior_entries(dataset: Dataset, *, excluding: int | None = None, released_only: bool = False) -> list[Entry]:
    """What the audit must assume known: every ledger entry of the dataset, and the entries of requests checked but
    not yet decided (either may be released before this one). The analyst's pre-check on the safe tier gets only the
    released cells' entries: which cells a pending run let through, and which suppressed cells are protected, were
    decided on RAW and are not theirs to learn."""
    ledger = LedgerEntry.objects.filter(dataset=dataset)
    if released_only:
        ledger = ledger.filter(protected=False)
    entries = [
        Entry.from_json({"region": e.region, "statistic": e.statistic, "column": e.column, "protected": e.protected}) for e in ledger
    ]
    if released_only:
        return entries
    pending = ReleaseRequest.objects.filter(dataset=dataset, state=ReleaseState.CHECKED).exclude(pk=excluding)
    for request in pending:
        entries += [Entry.from_json(e) for e in (read_checked(request) or {}).get("entries", [])]
    return entries


# --- the worker's side ------------------------------------------------------------------------------------------


def run_release(*, release_id: int, progress) -> dict:
    """Compute an approved request's declared query on its RAW version and decide every cell."""
    request = ReleaseRequest.objects.select_related("dataset", "raw_version__dataset").get(pk=release_id)
    if request.state not in (ReleaseState.APPROVED, ReleaseState.RUNNING):
        raise Refused(f"This request is {request.state}; only an approved request runs.")
    ReleaseRequest.objects.filter(pk=request.pk).update(state=ReleaseState.RUNNING, history=_history(request, ReleaseState.RUNNING, None))
    try:
        with transaction.atomic():
            # one run per dataset at a time: each sees the cells of every run checked before it
            Dataset.objects.select_for_update().filter(pk=request.dataset_id).first()
            checked = _compute(request, progress)
            request.refresh_from_db()
            ReleaseRequest.objects.filter(pk=request.pk).update(
                state=ReleaseState.CHECKED,
                sealed_output=seal(_key(request.dataset), checked, purpose=SEALED),
                history=_history(request, ReleaseState.CHECKED, None, _summary_line(checked)),
            )
    except Exception as error:
        request.refresh_from_db()
        reason = str(error)[:300] if isinstance(error, Refused | QueryError) else f"the run failed in the worker ({type(error).__name__})"
        ReleaseRequest.objects.filter(pk=request.pk).update(
            state=ReleaseState.FAILED, history=_history(request, ReleaseState.FAILED, None, reason)
        )
        raise
    record_event(
        actor=None,
        action="release.checked",
        obj=request,
        workspace_id=request.dataset.workspace_id,
        details={"cells": checked["summary"]["cells"]},
    )
    return {"release": request.pk}


def _summary_line(checked: dict) -> str:
    cells = checked["summary"]["cells"]
    return f"{cells['released']} released, {cells['suppressed']} suppressed, {cells['withheld']} withheld"


def _compute(request: ReleaseRequest, progress) -> dict:
    progress(10, "Reading the real data")
    frame = read_table(request.raw_version).to_pandas(date_as_object=False)
    rules = disclosure.Rules.from_policy(request.dataset.policy)
    try:
        query = parse(request.query, column_kinds(frame))
    except QueryError as problem:
        raise Refused(f"The declaration does not fit the real data's columns: {problem}") from None
    progress(30, "Computing the declared query and checking every cell")
    if request.mode == ReleaseMode.DP:
        checked = checker.check_table_dp(query, frame, rules, float(request.epsilon))
    else:
        checked = checker.check(query, frame, rules, prior_entries(request.dataset, excluding=request.pk))
    progress(90, "Sealing the checked output")
    return checked
