"""Who may see which customers: the four roles and a collector's portfolio.

The role names live here, in the lowest app, because every app above scopes its reads by them;
`creditdesk/roles.py` maps the same roles to model permissions.
"""

from django.db import models
from django.db.models import QuerySet


class Role(models.TextChoices):
    CREDIT_MANAGER = "credit_manager", "Credit manager"
    COLLECTOR = "collector", "Collector"
    FINANCE_LEAD = "finance_lead", "Finance lead"
    INTEGRATOR = "integrator", "Integrator"


def role_of(user) -> Role | None:
    """The user's role, by group; a superuser counts as a credit manager. None for no role."""
    if not user or not user.is_authenticated:
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
