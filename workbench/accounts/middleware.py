from workbench.accounts.models import ApiToken


class BearerTokenMiddleware:
    """Authenticates `Authorization: Bearer <token>` requests for the JSON API."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.auth_via_token = False
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Bearer "):
            user = ApiToken.find_user(header.removeprefix("Bearer ").strip())
            request.token_rejected = user is None
            if user is not None:
                request.user = user
                request.auth_via_token = True
                request._dont_enforce_csrf_checks = True
        return self.get_response(request)
