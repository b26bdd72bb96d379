"""Who may do what: the four roles, the capabilities each holds, and a collector's portfolio.

This is the one place that decides. Services call `require(actor, Capability.X)` before they write,
so the API, the browser pages, the admin and the tasks all get the same answer; the DRF permission
class (creditdesk.api_support), the page decorators and the admin site ask `may` on the same table,
and `creditdesk/roles.py` derives the roles' model permissions from `MODEL_CAPABILITIES` below.

The table lives in the lowest app because every app above checks against it; the README's
"Who may do what" section is this table in words (a test keeps them in step).
"""

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet


class Role(models.TextChoices):
    CREDIT_MANAGER = "credit_manager", "Credit manager"
    COLLECTOR = "collector", "Collector"
    FINANCE_LEAD = "finance_lead", "Finance lead"
    INTEGRATOR = "integrator", "Integrator"


class Capability(models.TextChoices):
    """What a role may do, in the words of the job (README: "Who may do what")."""

    READ_LEDGER = "read_ledger", "Read customers, contacts, invoices, payments, segments, policies, reminders"
    READ_DISPUTES = "read_disputes", "Read complaints (category, dates, outcome, invoices), agreements' terms"
    READ_CONVERSATIONS = "read_conversations", "Read the words: interactions, excuses, tasks, complaint texts"
    BROWSE_PAGES = "browse_pages", "Open the working pages (customers, invoices, agreements, complaints)"
    SYNC_LEDGER = "sync_ledger", "Sync ledger data: customers' master data, invoices, payments"
    EDIT_CONTACTS = "edit_contacts", "Add and edit contacts"
    LOG_CALLS = "log_calls", "Work the worklist: log calls, excuses, complaints, promises, plans, tasks"
    DECIDE_CREDIT_CONTROL = "decide_credit_control", "Decide credit control: limit, segment, holds, pauses"
    SET_INVOICE_STATUS = "set_invoice_status", "Dispute, write off, cancel or reopen an invoice"
    RESOLVE_COMPLAINTS = "resolve_complaints", "Resolve complaints (upheld or rejected, cancel invoices)"
    MANAGE_SETTINGS = "manage_settings", "Manage segments, dunning policies, worth-it weights"
    READ_REPORTS = "read_reports", "Read reports: DSO, aging, worth-it, exports"
    READ_AUDIT_TRAIL = "read_audit_trail", "Read a customer's recorded changes (the audit trail)"
    USE_ADMIN = "use_admin", "Use the admin site"
    APPLY_CASH = "apply_cash", "Confirm bank payments waiting in the cash queue"


C = Capability
# The table. Finance leads read everything and change nothing; integrators sync the ledger and read
# what the ERP needs back, never the words of conversations nor a credit decision.
ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.CREDIT_MANAGER: frozenset(Capability),
    Role.COLLECTOR: frozenset(
        {
            C.READ_LEDGER,
            C.READ_DISPUTES,
            C.READ_CONVERSATIONS,
            C.BROWSE_PAGES,
            C.EDIT_CONTACTS,
            C.LOG_CALLS,
            C.APPLY_CASH,
        }
    ),
    Role.FINANCE_LEAD: frozenset(
        {C.READ_LEDGER, C.READ_DISPUTES, C.READ_CONVERSATIONS, C.BROWSE_PAGES, C.READ_REPORTS}
    ),
    Role.INTEGRATOR: frozenset({C.READ_LEDGER, C.READ_DISPUTES, C.SYNC_LEDGER, C.EDIT_CONTACTS}),
}

# What the system itself does (the dunning run, imports, Celery tasks): it syncs, records the tasks and
# excuses a run produces, and proposes; it never decides credit control or resolves a complaint.
SYSTEM_CAPABILITIES: frozenset[Capability] = frozenset(
    {C.READ_LEDGER, C.READ_DISPUTES, C.READ_CONVERSATIONS, C.SYNC_LEDGER, C.EDIT_CONTACTS, C.LOG_CALLS}
)

# Each model's (read, write) capability: roles.py turns it into view_/add_/change_ permissions, so
# the admin and `user.has_perm` agree with the table. Deleting is the admin's alone (USE_ADMIN).
MODEL_CAPABILITIES: dict[str, tuple[Capability, Capability]] = {
    "customers.customer": (C.READ_LEDGER, C.SYNC_LEDGER),
    "customers.contact": (C.READ_LEDGER, C.EDIT_CONTACTS),
    "customers.segment": (C.READ_LEDGER, C.MANAGE_SETTINGS),
    "invoices.invoice": (C.READ_LEDGER, C.SYNC_LEDGER),
    "invoices.payment": (C.READ_LEDGER, C.SYNC_LEDGER),
    "invoices.allocation": (C.READ_LEDGER, C.SYNC_LEDGER),
    "agreements.agreement": (C.READ_DISPUTES, C.LOG_CALLS),
    "agreements.instalment": (C.READ_DISPUTES, C.LOG_CALLS),
    "calls.interaction": (C.READ_CONVERSATIONS, C.LOG_CALLS),
    "calls.excuse": (C.READ_CONVERSATIONS, C.LOG_CALLS),
    "calls.complaint": (C.READ_DISPUTES, C.LOG_CALLS),
    "calls.task": (C.READ_CONVERSATIONS, C.LOG_CALLS),
    "dunning.policy": (C.READ_LEDGER, C.MANAGE_SETTINGS),
    "dunning.step": (C.READ_LEDGER, C.MANAGE_SETTINGS),
    "dunning.reminder": (C.READ_LEDGER, C.MANAGE_SETTINGS),
    "dunning.reminderinvoice": (C.READ_LEDGER, C.MANAGE_SETTINGS),
    "dunning.proposal": (C.DECIDE_CREDIT_CONTROL, C.DECIDE_CREDIT_CONTROL),
    "reports.worthitsettings": (C.READ_REPORTS, C.MANAGE_SETTINGS),
    "reports.revenuescalesnapshot": (C.READ_REPORTS, C.MANAGE_SETTINGS),
    "banking.customerbankaccount": (C.READ_LEDGER, C.SYNC_LEDGER),
    "banking.bankstatement": (C.READ_LEDGER, C.SYNC_LEDGER),
    "banking.banktransaction": (C.APPLY_CASH, C.SYNC_LEDGER),
}
# Models whose change is a different decision than their creation: a collector opens a complaint,
# only a credit manager resolves it.
MODEL_CHANGE_CAPABILITIES: dict[str, Capability] = {"calls.complaint": C.RESOLVE_COMPLAINTS}


class SystemActor:
    """The acting "user" of the dunning run, imports and tasks: explicit, never a silent None.

    It is not a database user: services that store who acted store None for it.
    """

    is_authenticated = True
    is_active = True
    is_superuser = False
    is_staff = False
    pk = None
    id = None
    username = "system"

    def __str__(self) -> str:
        return "system"

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = SystemActor()

# Who acts in a service: a signed-in person (a request's user) or the explicit SYSTEM; `Person` is
# someone who can hold a portfolio or be named as having done something (a collector, made_by).
Person = AbstractBaseUser
Actor = AbstractBaseUser | AnonymousUser | SystemActor


def role_of(user) -> Role | None:
    """The user's role, by group; a superuser counts as a credit manager. None for no role."""
    if not user or not user.is_authenticated or isinstance(user, SystemActor):
        return None
    if user.is_superuser:
        return Role.CREDIT_MANAGER
    cached = getattr(user, "_creditdesk_role", False)
    if cached is not False:
        return cached
    labels = {label: value for value, label in Role.choices}
    names = list(user.groups.values_list("name", flat=True))
    role = next((Role(labels[name]) for name in labels if name in names), None)
    user._creditdesk_role = role
    return role


def capabilities_of(user) -> frozenset[Capability]:
    if isinstance(user, SystemActor):
        return SYSTEM_CAPABILITIES
    if user is not None and getattr(user, "is_authenticated", False) and not getattr(user, "is_active", True):
        return frozenset()
    return ROLE_CAPABILITIES.get(role_of(user), frozenset())


def may(user, capability: Capability) -> bool:
    """Whether the user (or SYSTEM) holds the capability."""
    return Capability(capability) in capabilities_of(user)


def require(user, capability: Capability) -> None:
    """Refuse with PermissionDenied (403 in the API and on pages) unless the user may do this."""
    if user is None:
        raise PermissionDenied(
            "No acting user was given: pass the signed-in user, or SYSTEM for a run, import or task."
        )
    if may(user, capability):
        return
    role = role_of(user)
    who = f"A {role.label.lower()}" if role else "A user without a role"
    what = Capability(capability).label
    raise PermissionDenied(f"{who} may not do this ({what[0].lower()}{what[1:]}).")


def acting_user(user: Actor) -> Any:
    """The user to store as "who did it" (None for SYSTEM). Typed Any: it is stored in a foreign key
    to the user model, which an AbstractBaseUser is not to mypy, and `require` has turned anonymous
    users away before anything is stored."""
    return None if isinstance(user, SystemActor) else user


def is_portfolio_bound(user) -> bool:
    """Collectors see only the customers assigned to them."""
    return role_of(user) == Role.COLLECTOR


def scope_to_portfolio(queryset: QuerySet, user, customer_path: str = "customer") -> QuerySet:
    """Restrict a queryset to the user's portfolio when the user is a collector.

    `customer_path` is the lookup from the queryset's model to Customer ("" for Customer itself).
    """
    if not is_portfolio_bound(user):
        return queryset
    lookup = f"{customer_path}__collector" if customer_path else "collector"
    return queryset.filter(**{lookup: user})
