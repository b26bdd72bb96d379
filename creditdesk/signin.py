"""The page shown when django-axes refuses a sign-in: how long to wait and whom to ask."""

from django.conf import settings
from django.shortcuts import render


def lockout_response(request, original_response, credentials):
    """AXES_LOCKOUT_CALLABLE: the lockout page (HTTP 429), for the login page and the admin's alike."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": minutes,
        "contact": settings.AXES_LOCKOUT_CONTACT,
    }
    return render(request, "registration/locked_out.html", context, status=429)
