"""A database that is down or restarting answers 503 with Retry-After, not a 500 with a traceback.

A request that reaches PostgreSQL while it restarts fails with OperationalError/InterfaceError; the
request is lost, but the client is told, in words, to try again shortly (JSON under /api/, a page
for the browser). The next request gets a fresh connection (CONN_HEALTH_CHECKS in the settings),
so the app recovers by itself once the database is back.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from reports.replica import note_write

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10
MESSAGE = "The database did not answer; nothing was changed by this request. Try again in a few seconds."
JSON_PREFIXES = ("/api/", "/health/")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def is_database_unavailable(exception: BaseException) -> bool:
    return isinstance(exception, OperationalError | InterfaceError)


def database_unavailable_response(request) -> HttpResponse:
    if request.path.startswith(JSON_PREFIXES):
        response = JsonResponse({"detail": MESSAGE}, status=503)
    else:
        # A page of its own: the site's layout reads the user, i.e. the database.
        response = HttpResponse(render_to_string("503.html", {"message": MESSAGE}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turn a view's OperationalError/InterfaceError into a 503 with Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        logger.warning("Database unavailable for %s %s: %s", request.method, request.path, exception)
        return database_unavailable_response(request)


class ReplicaPinMiddleware:
    """Read your own writes: after a person's successful change (POST, PUT, PATCH, DELETE answered
    below 400), their report reads stay on the primary for REPLICA_PIN_SECONDS (reports/replica.py).
    Does nothing without a replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and response.status_code < 400:
            # The user as the view saw it: DRF's token authentication sets it on the request too.
            note_write(getattr(request, "user", None))
        return response
