"""Writes to customers, contacts and segments: one function per business operation.

Each takes the acting user (`actor=`, SYSTEM for imports and runs) and asks customers.access first.
"""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.records import Change, record_changes

from .access import Actor, Capability, Person, acting_user, may, require
from .changes import field_values, save_changed_fields
from .models import (
    Contact,
    ContactChange,
    ContactChangeState,
    Customer,
    PortalLink,
    PortalSubmission,
    Segment,
)
from .signals import announce_change

CUSTOMER_FIELDS = (
    "name", "segment", "currency", "payment_terms_days", "credit_limit", "preferred_channel",
    "email", "phone", "address_line", "postal_code", "city", "country",
)  # fmt: skip


# Fields of the account that are credit decisions: only a credit manager sets them, never an ERP sync.
CREDIT_DECISION_FIELDS = ("credit_limit", "segment")


def upsert_customer(*, account_number: str, actor: Actor, **values: Any) -> tuple[Customer, bool]:
    """Create the customer with this account number, or update the given fields. Returns (customer, created).

    Only the fields named in CUSTOMER_FIELDS can be set this way; collector, holds and pauses have
    their own operations, so an ERP sync cannot undo a credit manager's decision. Credit limit and
    segment are credit decisions: an actor who may not decide credit control is refused per field.
    Only the fields that differ are written; re-sending the stored values writes nothing.
    """
    require(actor, Capability.SYNC_LEDGER)
    unknown = set(values) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set through a customer sync." for name in unknown})
    decisions = [name for name in CREDIT_DECISION_FIELDS if name in values]
    if decisions and not may(actor, Capability.DECIDE_CREDIT_CONTROL):
        raise ValidationError(
            {
                name: "A credit decision: only a credit manager sets it (PATCH the customer's "
                "credit-control); leave it out of the sync."
                for name in decisions
            }
        )
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(account_number=account_number).first()
        created = customer is None
        customer = customer or Customer(account_number=account_number)
        before = field_values(customer, values)
        for name, value in values.items():
            setattr(customer, name, value)
        customer.full_clean(validate_unique=False)
        if created:
            customer.save()
        elif "currency" not in save_changed_fields(customer, before):  # the same values write nothing
            return customer, created
        # Only the currency feeds precomputed figures (the overdue amount is in the customer's currency).
        announce_change(customer_ids={customer.pk}, facts={"customer"})
        return customer, created


@transaction.atomic
def assign_collector(*, customers: Iterable[Customer], collector: Person | None, actor: Actor) -> int:
    """Put customers into a collector's portfolio (None takes them out). Returns how many changed.

    Each customer whose collector changes gets an audit entry, in the same transaction.
    """
    require(actor, Capability.DECIDE_CREDIT_CONTROL)
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
    # The worklist keeps each customer's collector beside its day (calls.standing) for the index.
    announce_change(customer_ids=ids, facts={"customer"})
    return count


@transaction.atomic
def set_credit_terms(*, customer: Customer, actor: Actor, **values: Any) -> Customer:
    """A credit manager sets the credit limit and/or the segment (the fields of CREDIT_DECISION_FIELDS)."""
    require(actor, Capability.DECIDE_CREDIT_CONTROL)
    unknown = set(values) - set(CREDIT_DECISION_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a credit term." for name in unknown})
    for name, value in values.items():
        setattr(customer, name, value)
    customer.full_clean(validate_unique=False)
    customer.save(update_fields=[*values, "updated_at"])
    return customer


# Holds and pauses are saved through the ORM, so the audit trail's signals record them; the atomic
# block keeps the change and its audit entry in one transaction even when called outside one.
@transaction.atomic
def set_credit_hold(*, customer: Customer, on_hold: bool, actor: Actor) -> Customer:
    require(actor, Capability.DECIDE_CREDIT_CONTROL)
    customer.credit_hold = on_hold
    customer.save(update_fields=["credit_hold", "updated_at"])
    return customer


@transaction.atomic
def set_prepayment_only(*, customer: Customer, prepayment_only: bool, actor: Actor) -> Customer:
    require(actor, Capability.DECIDE_CREDIT_CONTROL)
    customer.prepayment_only = prepayment_only
    customer.save(update_fields=["prepayment_only", "updated_at"])
    return customer


@transaction.atomic
def pause_dunning(*, customer: Customer, until: date | None, actor: Actor) -> Customer:
    """Stop reminders for the customer until that date (None resumes them)."""
    require(actor, Capability.DECIDE_CREDIT_CONTROL)
    customer.dunning_paused_until = until
    customer.save(update_fields=["dunning_paused_until", "updated_at"])
    # The pause holds the worklist's overdue reason, which the calls app keeps per customer and day.
    announce_change(customer_ids={customer.pk}, facts={"customer"})
    return customer


CREDIT_CONTROL_FIELDS = (
    *CREDIT_DECISION_FIELDS, "collector", "credit_hold", "prepayment_only", "dunning_paused_until",
)  # fmt: skip


@transaction.atomic
def decide_credit_control(*, customer: Customer, actor: Actor, **decisions: Any) -> Customer:
    """A credit manager's decisions about one account, all or none: the fields of CREDIT_CONTROL_FIELDS
    that are given are set (None where it means "none": no segment, no collector, no pause)."""
    unknown = set(decisions) - set(CREDIT_CONTROL_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a credit control decision." for name in sorted(unknown)})
    terms = {name: decisions[name] for name in CREDIT_DECISION_FIELDS if name in decisions}
    if terms:
        set_credit_terms(customer=customer, actor=actor, **terms)
    if "collector" in decisions:
        assign_collector(customers=[customer], collector=decisions["collector"], actor=actor)
    if "credit_hold" in decisions:
        set_credit_hold(customer=customer, on_hold=decisions["credit_hold"], actor=actor)
    if "prepayment_only" in decisions:
        set_prepayment_only(customer=customer, prepayment_only=decisions["prepayment_only"], actor=actor)
    if "dunning_paused_until" in decisions:
        pause_dunning(customer=customer, until=decisions["dunning_paused_until"], actor=actor)
    customer.refresh_from_db()
    return customer


def save_contact(
    *,
    customer: Customer,
    actor: Actor,
    contact: Contact | None = None,
    verified: bool = False,
    **values: str | bool,
) -> Contact:
    """Create or edit a contact; `verified=True` stamps that the details were confirmed now.

    Making a contact primary demotes the customer's previous primary in the same transaction.
    """
    require(actor, Capability.EDIT_CONTACTS)
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


def upsert_segment(
    *, name: str, actor: Actor, description: str = "", lateness_threshold_days: int = 30
) -> Segment:
    """Create or change a segment by name (a credit manager's setting)."""
    require(actor, Capability.MANAGE_SETTINGS)
    segment, _ = Segment.objects.update_or_create(
        name=name, defaults={"description": description, "lateness_threshold_days": lateness_threshold_days}
    )
    return segment


# --- Portal links and what customers send through them --------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint_portal_link(
    *, customer: Customer, contact: Contact | None = None, now: datetime | None = None
) -> tuple[PortalLink, str]:
    """A new personal link for the customer (and the contact it is addressed to); returns (link, token).

    The token (32 random bytes, 256 bits) is returned once and never stored: only its hash is. Called
    by the dunning delivery for every reminder it sends; the link expires after PORTAL_LINK_DAYS.
    """
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    link = PortalLink.objects.create(
        customer=customer,
        contact=contact,
        token_hash=hash_token(token),
        expires_at=now + timedelta(days=settings.PORTAL_LINK_DAYS),
    )
    return link, token


def first_submission(*, link: PortalLink, key: str) -> bool:
    """Record that the form with this key was sent through the link; False if it already was.

    Call it first inside the transaction of the answer: a repeat then writes nothing, and a concurrent
    twin waits on the unique index and finds the first one committed.
    """
    if not key:
        raise ValidationError({"submission": "The form is incomplete: reload the page and send it again."})
    try:
        with transaction.atomic():
            PortalSubmission.objects.create(link=link, key=key[:64])
    except IntegrityError:
        return False
    return True


def revoke_portal_links(*, customer: Customer, actor: Actor, now: datetime | None = None) -> int:
    """Revoke every live link of the customer (a credit manager's decision); returns how many."""
    require(actor, Capability.DECIDE_CREDIT_CONTROL)
    return PortalLink.objects.filter(customer=customer, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )


def submit_contact_change(*, customer: Customer, actor: Actor, today: date, **values: str) -> ContactChange:
    """Record a new accounts-payable contact given by the customer, pending a collector's confirmation.

    A second submission while one is pending replaces it (one pending change per customer, a
    constraint), so a resent form never queues twins.
    """
    require(actor, Capability.EDIT_CONTACTS)
    with transaction.atomic():
        change = (
            ContactChange.objects.select_for_update()
            .filter(customer=customer, state=ContactChangeState.PENDING)
            .first()
        ) or ContactChange(customer=customer)
        for name in ("name", "role", "email", "phone"):
            setattr(change, name, values.get(name, "") or getattr(change, name))
        change.role = change.role or "Accounts payable"
        change.submitted_on = today
        change.full_clean(validate_constraints=False)
        if not (change.email or change.phone):
            raise ValidationError({"email": "Give an email address or a phone number."})
        change.save()
        return change


def decide_contact_change(
    *, change: ContactChange, confirm: bool, actor: Actor, today: date
) -> ContactChange:
    """Confirm (it becomes the customer's primary, verified contact) or reject a pending contact change."""
    require(actor, Capability.EDIT_CONTACTS)
    if change.state != ContactChangeState.PENDING:
        raise ValidationError({"state": "This contact change was already decided."})
    with transaction.atomic():
        if confirm:
            change.contact = save_contact(
                customer=change.customer, actor=actor, verified=True, is_primary=True,
                name=change.name, role=change.role, email=change.email, phone=change.phone,
            )  # fmt: skip
        change.state = ContactChangeState.CONFIRMED if confirm else ContactChangeState.REJECTED
        change.decided_on = today
        change.decided_by = acting_user(actor)
        change.save(update_fields=["state", "decided_on", "decided_by", "contact"])
        announce_change(customer_ids={change.customer_id}, facts={"contacts"})
        return change
