"""The Content-Security-Policy every page is sent with.

Nothing the site serves loads from elsewhere (closed networks) and no page has an inline script or
event handler, so scripts come from the site only: text an author or a learner wrote that slipped
past sanitising could not run. Inline styles stay allowed (progress bars set their width so).
Images and videos may come from an address a course author gave (https only); no plugin runs and
no other site may frame the pages; forms post to the site only. Responses that set their own
policy (uploaded files, lms.media, sandboxed) keep it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https:",
        "media-src 'self' https:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Adds the policy (settings.CONTENT_SECURITY_POLICY, POLICY unless set) to every answer that
    has none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
