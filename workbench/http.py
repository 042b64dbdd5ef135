"""JSON API plumbing: authentication, method checks and errors as {"error": "..."}."""

import functools
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from workbench.errors import Refused
from workbench.jobs.actions import JobError

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


class BadRequest(Refused):
    """A client error whose message is shown as is."""


def api(*methods: str, auth: bool = True):
    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return error(f"Method {request.method} not allowed; use {', '.join(methods)}.", 405)
            if getattr(request, "token_rejected", False):
                return error("The bearer token is not valid.", 401)
            if auth and not request.user.is_authenticated:
                return error("Authentication required: send 'Authorization: Bearer <token>' (POST /api/v1/auth/token).", 401)
            if auth and request.method in UNSAFE and not request.auth_via_token:
                reason = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
                if reason is not None:
                    return error("CSRF check failed for a session-authenticated request.", 403)
            try:
                return view(request, *args, **kwargs)
            except Http404:
                return error("Not found.", 404)
            except PermissionDenied as denied:
                return error(str(denied) or "Permission denied.", 403)
            except (Refused, JobError) as bad:
                return error(str(bad), 400)
            except ValidationError as invalid:
                return error("; ".join(invalid.messages), 400)

        return wrapper

    return decorate


def json_body(request) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def int_param(request, name: str, default: int, *, minimum: int = 1, maximum: int = 10**9) -> int:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be a whole number.") from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"'{name}' must be between {minimum} and {maximum}.")
    return value
