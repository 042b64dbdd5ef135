from django.http import JsonResponse

from workbench.access import get_job_for_user
from workbench.http import api
from workbench.jobs import actions


@api("GET")
def job(request, job_id: int):
    job, _ = get_job_for_user(request.user, job_id)
    return JsonResponse(job.as_json())


@api("POST")
def cancel(request, job_id: int):
    job, _ = get_job_for_user(request.user, job_id, need="run")
    return JsonResponse(actions.cancel_job(job=job, user=request.user).as_json())


@api("POST")
def retry(request, job_id: int):
    job, _ = get_job_for_user(request.user, job_id, need="run")
    return JsonResponse(actions.retry_job(job=job, user=request.user).as_json(), status=202)
