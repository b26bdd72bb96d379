"""Reads of the customers app that more than one app needs."""

from django.utils import timezone

from .models import PortalLink
from .services import hash_token


def portal_link(token: str) -> PortalLink | None:
    """The link this token opens, live or not (None if no such token); `link_is_live` says which."""
    if not token or len(token) > 100:
        return None
    return (
        PortalLink.objects.select_related("customer", "customer__collector", "contact")
        .filter(token_hash=hash_token(token))
        .first()
    )


def link_is_live(link: PortalLink, *, now=None) -> bool:
    return link.revoked_at is None and link.expires_at > (now or timezone.now())
