"""Writes to customers, contacts and segments: one function per business operation."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.records import Change, record_changes

from .models import Contact, Customer, Segment

CUSTOMER_FIELDS = (
    "name", "segment", "currency", "payment_terms_days", "credit_limit", "preferred_channel",
    "email", "phone", "address_line", "postal_code", "city", "country",
)  # fmt: skip


def upsert_customer(*, account_number: str, **values) -> tuple[Customer, bool]:
    """Create the customer with this account number, or update the given fields. Returns (customer, created).

    Only the fields named in CUSTOMER_FIELDS can be set this way; collector, holds and pauses have
    their own operations, so an ERP sync cannot undo a credit manager's decision.
    """
    unknown = set(values) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set through a customer sync." for name in unknown})
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(account_number=account_number).first()
        created = customer is None
        customer = customer or Customer(account_number=account_number)
        for name, value in values.items():
            setattr(customer, name, value)
        customer.full_clean(validate_unique=False)
        customer.save()
        return customer, created


@transaction.atomic
def assign_collector(*, customers, collector) -> int:
    """Put customers into a collector's portfolio (None takes them out). Returns how many changed.

    Each customer whose collector changes gets an audit entry, in the same transaction.
    """
    ids = [customer.pk for customer in customers]
    before = list(
        Customer.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("collector")
        .order_by("pk")
    )
    count = Customer.objects.filter(pk__in=ids).update(collector=collector, updated_at=timezone.now())
    record_changes(
        Customer,
        (Change(c.pk, c.pk, str(c), {"collector": (c.collector, collector)}) for c in before),
    )
    return count


# Holds and pauses are saved through the ORM, so the audit trail's signals record them; the atomic
# block keeps the change and its audit entry in one transaction even when called outside one.
@transaction.atomic
def set_credit_hold(*, customer: Customer, on_hold: bool) -> Customer:
    customer.credit_hold = on_hold
    customer.save(update_fields=["credit_hold", "updated_at"])
    return customer


@transaction.atomic
def set_prepayment_only(*, customer: Customer, prepayment_only: bool) -> Customer:
    customer.prepayment_only = prepayment_only
    customer.save(update_fields=["prepayment_only", "updated_at"])
    return customer


@transaction.atomic
def pause_dunning(*, customer: Customer, until) -> Customer:
    """Stop reminders for the customer until that date (None resumes them)."""
    customer.dunning_paused_until = until
    customer.save(update_fields=["dunning_paused_until", "updated_at"])
    return customer


def save_contact(
    *, customer: Customer, contact: Contact | None = None, verified: bool = False, **values
) -> Contact:
    """Create or edit a contact; `verified=True` stamps that the details were confirmed now.

    Making a contact primary demotes the customer's previous primary in the same transaction.
    """
    with transaction.atomic():
        contact = contact or Contact(customer=customer)
        if contact.customer_id != customer.pk:
            raise ValidationError({"contact": "This contact belongs to another customer."})
        for name, value in values.items():
            setattr(contact, name, value)
        if verified:
            contact.verified_at = timezone.now()
        contact.full_clean(validate_constraints=False)
        if contact.is_primary:
            customer.contacts.exclude(pk=contact.pk).filter(is_primary=True).update(is_primary=False)
        contact.save()
        return contact


def upsert_segment(*, name: str, description: str = "", lateness_threshold_days: int = 30) -> Segment:
    segment, _ = Segment.objects.update_or_create(
        name=name, defaults={"description": description, "lateness_threshold_days": lateness_threshold_days}
    )
    return segment


def credit_headroom(customer: Customer, open_total: Decimal) -> Decimal:
    """What the customer may still buy on credit, given what is open in their currency."""
    return customer.credit_limit - open_total
