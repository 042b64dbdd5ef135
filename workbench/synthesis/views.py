from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from workbench.access import get_version_for_user
from workbench.errors import Refused
from workbench.synthesis import actions


def _whole(value: str, label: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Refused(f"{label} must be a whole number.") from None


def _number(value: str, label: str) -> float | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise Refused(f"{label} must be a number.") from None


def _choices(form) -> dict[str, str]:
    """The plan's changes from the form: a `column:NAME` field per column, empty for "as planned"."""
    return {key[len("column:") :]: value for key, value in form.items() if key.startswith("column:") and value}


@login_required
@require_POST
def synthesize(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id, need="run")
    try:
        job = actions.start_synthesize(
            version=version,
            user=request.user,
            method=request.POST.get("method", "auto"),
            rows=_whole(request.POST.get("rows", ""), "Rows"),
            target=request.POST.get("target", ""),
            seed=_whole(request.POST.get("seed", ""), "Seed"),
            epsilon=_number(request.POST.get("epsilon", ""), "Epsilon"),
            columns=_choices(request.POST),
            text_epsilon=_number(request.POST.get("text_epsilon", ""), "The text model's epsilon"),
        )
    except Refused as problem:
        messages.error(request, str(problem))
        return redirect("version", version.pk)
    return redirect("job", job.pk)
