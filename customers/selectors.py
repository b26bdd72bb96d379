"""Reads of customers and contacts shared by pages and the API (writes are in services.py)."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from .access import Actor, scope_to_portfolio
from .models import Contact, Customer, PortalLink
from .services import hash_token


def visible_customers(*, user: Actor) -> QuerySet[Customer]:
    """The customers the user may see: a collector's portfolio, everyone for the other roles."""
    return scope_to_portfolio(Customer.objects.all(), user, customer_path="")


def contact_of(*, customer: Customer, contact_id: int) -> Contact:
    """The customer's contact with this id; another customer's contact is "no such contact", so a
    lookup never tells that a record outside the customer exists."""
    contact = Contact.objects.filter(pk=contact_id, customer=customer).first()
    if contact is None:
        message = f"{customer.account_number} has no contact with id {contact_id}."
        raise ValidationError({"contact": [message]})
    return contact


def portal_link(token: str) -> PortalLink | None:
    """The link this token opens, live or not (None if no such token); `link_is_live` says which."""
    if not token or len(token) > 100:
        return None
    return (
        PortalLink.objects.select_related("customer", "customer__collector", "contact")
        .filter(token_hash=hash_token(token))
        .first()
    )


def link_is_live(link: PortalLink, *, now: datetime | None = None) -> bool:
    return link.revoked_at is None and link.expires_at > (now or timezone.now())
