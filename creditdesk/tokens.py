"""API tokens: one per user, shown and regenerated on a page, or made by `manage.py api_token`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token


def issue_token(user, *, regenerate: bool = False) -> Token:
    """The user's token, created when missing; `regenerate` replaces it (the old one stops working)."""
    with transaction.atomic():
        if regenerate:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        return token


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    if request.method == "POST":
        had_token = Token.objects.filter(user=request.user).exists()
        issue_token(request.user, regenerate=True)
        messages.success(
            request,
            "A new token was made; the old one no longer works." if had_token else "Your token was made.",
        )
        return redirect("api-token")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "api/token.html", {"token": token})
