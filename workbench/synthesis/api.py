from django.http import JsonResponse

from workbench.access import get_version_for_user
from workbench.http import BadRequest, api, json_body
from workbench.synthesis import actions


@api("POST")
def synthesize(request, version_id: int):
    version, _ = get_version_for_user(request.user, version_id, need="run")
    body = json_body(request)
    rows = body.get("rows")
    if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool)):
        raise BadRequest("'rows' must be a whole number.")
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise BadRequest("'seed' must be a whole number.")
    columns = body.get("columns")
    if columns is not None and (not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values())):
        raise BadRequest('\'columns\' must map column names to "model", "leave out" or "write text".')
    job = actions.start_synthesize(
        version=version,
        user=request.user,
        method=str(body.get("method", "auto")),
        rows=rows,
        target=str(body.get("target") or ""),
        seed=seed,
        epsilon=body.get("epsilon"),
        delta=body.get("delta"),
        columns=columns,
        text_epsilon=body.get("text_epsilon"),
    )
    return JsonResponse({"job": job.as_json()}, status=202)


@api("GET")
def plan(request, version_id: int):
    """What a synthetic copy of this version would do with each column (for people who may run it)."""
    version, _ = get_version_for_user(request.user, version_id, need="run")
    return JsonResponse({"version": version.pk, "plan": actions.plan_preview(version)})


@api("GET")
def evaluation(request, version_id: int):
    version, _ = get_version_for_user(request.user, version_id)
    report = actions.read_report(version)
    if report is None:
        raise BadRequest("Only a SYNTHETIC version has an evaluation report.")
    return JsonResponse({"version": version.pk, "report": report})


@api("GET")
def budget(request, dataset_id: int):
    from workbench.access import get_dataset_for_user
    from workbench.synthesis import ledger

    dataset, _ = get_dataset_for_user(request.user, dataset_id)
    return JsonResponse(ledger.summary(dataset))
