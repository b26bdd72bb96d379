"""Which models are audited, which of their fields, and how an entry finds its customer.

Each app registers its own models in its AppConfig.ready (apps depend downward; `audit` is below
them all). Saves through the ORM are logged by django-auditlog's signals; writes that bypass
signals (QuerySet.update, bulk_update, COPY) call `audit.records.record_changes` themselves.
"""

from collections.abc import Callable, Collection

from auditlog.models import AbstractLogEntry
from auditlog.registry import auditlog
from auditlog.signals import pre_log
from django.dispatch import receiver

# model -> how to find the customer an entry about one of its rows concerns
_customer_getters: dict[type, Callable] = {}
# models whose creation is not a change worth an entry (an invoice is born open, a complaint unresolved)
_no_create_entry: set[type] = set()


def register(
    model,
    *,
    fields: Collection[str] | None = None,
    m2m_fields: Collection[str] = (),
    customer: str | None = None,
    mapping_fields: dict[str, str] | None = None,
    log_create: bool = True,
) -> None:
    """Audit `model`: changes to `fields` (None: every field but timestamps) and `m2m_fields`.

    `customer` names the attribute holding the customer's id ("pk" for Customer itself).
    """
    if fields is None:
        exclude = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
        auditlog.register(model, exclude_fields=exclude, m2m_fields=set(m2m_fields),
                          mapping_fields=mapping_fields)  # fmt: skip
    else:
        # auditlog reads an empty include list as "every field": name a non-field to track m2m only.
        include = list(fields) or ["__m2m_only__"]
        auditlog.register(model, include_fields=include, m2m_fields=set(m2m_fields),
                          mapping_fields=mapping_fields)  # fmt: skip
    if customer:
        _customer_getters[model] = lambda instance: getattr(instance, customer)
    if not log_create:
        _no_create_entry.add(model)


@receiver(pre_log, dispatch_uid="audit-skip-creates")
def _skip_unwanted_creates(sender, instance, action, **kwargs):
    if action == AbstractLogEntry.Action.CREATE and sender in _no_create_entry:
        return False
    return None


def customer_of(instance) -> int | None:
    getter = _customer_getters.get(type(instance))
    return getter(instance) if getter else None
