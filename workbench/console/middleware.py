class ContentSecurityPolicyMiddleware:
    """Pages may load scripts, styles, fonts and data from this server only."""

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.POLICY)
        response.setdefault("Referrer-Policy", "same-origin")
        return response


class SubresourceGuardMiddleware:
    """A page's images, styles, fonts and scripts come from /static/ only: a request the browser makes to load one
    (its Sec-Fetch-Dest says so) for any other address is refused before a view runs. So no chart, label or cell that
    slipped markup into a page can make the viewer's browser read a preview or a download in the viewer's name, and
    write an audit event for a read the viewer never asked for. Navigations, forms, htmx and API clients (which send
    no Sec-Fetch-Dest, or "document" / "empty") are not affected."""

    SUBRESOURCES = {
        "image", "style", "script", "font", "audio", "video", "track", "object", "embed", "manifest", "worker",
        "sharedworker", "serviceworker", "xslt", "audioworklet", "paintworklet", "report", "frame", "iframe",
    }  # fmt: skip

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.static = settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/" + settings.STATIC_URL

    def __call__(self, request):
        destination = request.headers.get("Sec-Fetch-Dest", "").lower()
        if destination in self.SUBRESOURCES and not request.path.startswith(self.static):
            from django.http import HttpResponseForbidden

            return HttpResponseForbidden(f"This address does not serve a page's {destination}.", content_type="text/plain")
        return self.get_response(request)
