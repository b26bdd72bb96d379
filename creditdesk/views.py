"""The pages that belong to no single app: home and a health check."""

import sys

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults

from .middleware import database_unavailable_response, is_database_unavailable
from .roles import links_for


@login_required
def home(request):
    return render(request, "home.html", {"links": links_for(request.user)})


def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


def server_error(request):
    """A database down or restarting while middleware read it (the session, the user) is a 503 with
    Retry-After, like the same fault inside a view; any other error is Django's plain 500 page."""
    error = sys.exc_info()[1]
    if error is not None and is_database_unavailable(error):
        return database_unavailable_response(request)
    return defaults.server_error(request)


def page_not_found(request, exception):
    """A 404 in the shape of the page asked for: JSON for the API (as its schema says), HTML elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
