"""Pages and the admin: the signed-in user, through "admin" under /admin/, "api" under /api/, else "page"."""

from django.urls import reverse

from .context import Channel, audit_context


class AuditContextMiddleware:
    """Goes after AuthenticationMiddleware. API token users are named later, by the viewsets."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(channel=channel_of(request.path_info), user=getattr(request, "user", None)):
            return self.get_response(request)


def channel_of(path: str) -> str:
    if path.startswith(_prefix("admin:index")):
        return Channel.ADMIN
    if path.startswith("/api/"):
        return Channel.API
    return Channel.PAGE


def _prefix(url_name: str) -> str:
    try:
        return reverse(url_name)
    except Exception:  # noqa: BLE001 - no admin mounted: nothing is the admin
        return "\0"
