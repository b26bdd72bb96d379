"""The four roles as Django groups, with the model permissions each holds.

The groups are created by a migration (creditdesk/migrations) and kept in step after every
`migrate`, so permissions of models added later reach the roles without a hand-written migration.
"""

from django.apps import apps as global_apps
from django.urls import NoReverseMatch, reverse

from customers.access import (
    MODEL_CAPABILITIES,
    MODEL_CHANGE_CAPABILITIES,
    ROLE_CAPABILITIES,
    Capability,
    Role,
    role_of,
)

DOMAIN_APPS = ("customers", "invoices", "agreements", "calls", "dunning", "reports", "banking")


def permissions_for(role: Role, app_models: dict[str, list[str]]) -> set[str]:
    """Permission codenames ("app_label.codename") a role holds, derived from customers.access.

    view_ follows the model's read capability, add_ and change_ its write capability (change_ its
    change capability where that differs, e.g. resolving a complaint); delete_ is the admin's only.
    A model missing from MODEL_CAPABILITIES is the credit manager's alone.
    """
    held = ROLE_CAPABILITIES.get(role, frozenset())
    grants: set[str] = set()
    for app_label, models in app_models.items():
        for model in models:
            key = f"{app_label}.{model}"
            read, write = MODEL_CAPABILITIES.get(key, (Capability.USE_ADMIN, Capability.USE_ADMIN))
            change = MODEL_CHANGE_CAPABILITIES.get(key, write)
            for verb, capability in (("view", read), ("add", write), ("change", change)):
                if capability in held:
                    grants.add(f"{app_label}.{verb}_{model}")
            if Capability.USE_ADMIN in held:
                grants.add(f"{app_label}.delete_{model}")
    return grants


def sync_roles(apps=global_apps) -> None:
    """Create the role groups and give each exactly the permissions of `permissions_for`."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True  # historical app configs need this to create permissions
        create_permissions(app_config, verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    app_models = {
        label: [model._meta.model_name for model in apps.get_app_config(label).get_models()]
        for label in DOMAIN_APPS
        if label in {config.label for config in apps.get_app_configs()}
    }
    all_permissions = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.filter(content_type__app_label__in=DOMAIN_APPS).select_related(
            "content_type"
        )
    }
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.label)
        wanted = permissions_for(role, app_models)
        group.permissions.set([all_permissions[name] for name in sorted(wanted) if name in all_permissions])


def sync_roles_after_migrate(sender, apps=global_apps, **kwargs) -> None:
    sync_roles(apps)


# What each role's home page offers: (label, url name, what it is for).
ROLE_LINKS = {
    Role.CREDIT_MANAGER: [
        ("Worklist", "calls:worklist", "Who to contact today, why, and through which channel."),
        ("Customers", "calls:customer-list", "Accounts, credit holds and prepayment only."),
        ("Complaints", "calls:complaint-list", "Disputes to resolve: upheld or rejected."),
        (
            "Dunning policies",
            "admin:dunning_policy_changelist",
            "Escalation steps and templates per segment.",
        ),
        ("Reports", "reports:dashboard", "DSO, aging, worth-it and effort against value."),
        ("Admin", "admin:index", "Segments, users and every record."),
    ],
    Role.COLLECTOR: [
        ("My worklist", "calls:worklist", "Your portfolio's calls for today, in priority order."),
        ("Customers", "calls:customer-list", "Your customers, their history and promises."),
        ("Agreements", "agreements:agreement-list", "Promises and payment plans: kept or broken."),
    ],
    Role.FINANCE_LEAD: [
        ("Dashboard", "reports:dashboard", "DSO, aging and trends per segment."),
        ("Worth-it ranking", "reports:worth-it", "What each customer brings against what they cost."),
        ("Invoices", "invoices:invoice-list", "The ledger, filtered."),
    ],
    Role.INTEGRATOR: [
        ("API documentation", "api-docs", "Sync customers, invoices and payments from your ERP."),
        ("API tokens", "api-token", "Your token for the Authorization header."),
    ],
}


def links_for(user) -> list[dict]:
    """The home page links for a user's role, leaving out pages not built yet."""
    links = []
    for label, url_name, description in ROLE_LINKS.get(role_of(user), []):
        try:
            links.append({"label": label, "url": reverse(url_name), "description": description})
        except NoReverseMatch:
            continue
    return links


def role_context(request) -> dict:
    role = role_of(getattr(request, "user", None))
    return {"user_role": role, "user_role_label": role.label if role else ""}


# The dunning pages (appended by the dunning work, kept apart to ease merges).
ROLE_LINKS[Role.CREDIT_MANAGER] += [
    ("Reminders", "dunning:reminder-list", "What the dunning run sent, and deliveries that failed."),
    ("Proposals", "dunning:proposal-list", "Prepayment only and credit holds to confirm or dismiss."),
]
ROLE_LINKS[Role.COLLECTOR] += [
    ("Reminders", "dunning:reminder-list", "Reminders your customers were sent, with their letters."),
]
