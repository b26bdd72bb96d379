"""The audit trail: one row per recorded change, django-auditlog's LogEntry plus what it lacks here.

Added to auditlog's entry: through what the change came (`channel`, `by_token`), the actor's name
as it was (the user may be deleted later), and the customer the change concerns, so a customer's
history is one indexed query over its own changes and those of its invoices, agreements and
complaints. Rows are written only by `audit.registry` (signals) and `audit.records` (bulk writes),
inside the transaction of the change; no page, admin or API edits or deletes them.
"""

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.db import models

from .context import Channel


class EntryManager(LogEntryManager):
    def log_create(self, instance, force_log: bool = False, **kwargs):
        from .registry import customer_of

        kwargs.setdefault("customer_id", customer_of(instance))
        return super().log_create(instance, force_log=force_log, **kwargs)

    def log_m2m_changes(self, changed_queryset, instance, operation, field_name, **kwargs):
        from .registry import customer_of

        kwargs.setdefault("customer_id", customer_of(instance))
        return super().log_m2m_changes(changed_queryset, instance, operation, field_name, **kwargs)


class Entry(AbstractLogEntry):
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    by_token = models.BooleanField(default=False, help_text="Made through the API with a token.")
    actor_name = models.CharField(max_length=150, blank=True, help_text="Empty: the system.")
    # No foreign key: `audit` sits below every app (customers imports it), and history outlives rows.
    customer_id = models.BigIntegerField(null=True, blank=True)

    objects = EntryManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["customer_id", "-timestamp", "-id"], name="audit_entry_customer")]

    @property
    def who(self) -> str:
        name = self.actor_name or "system"
        return f"{name} (token)" if self.by_token else name
