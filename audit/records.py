"""Entries for writes that bypass model signals: QuerySet.update, bulk_update, COPY.

The callers (services) run these inside the transaction of the change, so a change rolled back
leaves no entry. One entry per record whose audited field changed, written with one bulk INSERT.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.encoding import smart_str

from .context import stamp
from .models import Entry


@dataclass(frozen=True)
class Change:
    """One record's change: its id, the customer it concerns, how it reads, and {field: (before, after)}."""

    object_id: int
    customer_id: int | None
    label: str
    fields: dict[str, tuple]


def record_changes(model, changes: Iterable[Change], *, action: int = Entry.Action.UPDATE) -> int:
    """Write one entry per change that changes something; returns how many were written."""
    content_type = ContentType.objects.get_for_model(model)
    now = timezone.now()
    entries = []
    for change in changes:
        fields = {name: [_text(before), _text(after)] for name, (before, after) in change.fields.items()
                  if before != after}  # fmt: skip
        if not fields:
            continue
        entry = Entry(
            content_type=content_type,
            object_pk=str(change.object_id),
            object_id=change.object_id,
            object_repr=change.label,
            action=action,
            changes=fields,
            customer_id=change.customer_id,
            timestamp=now,
        )
        stamp(entry)
        entries.append(entry)
    Entry.objects.bulk_create(entries, batch_size=1000)
    return len(entries)


def record_change(instance, fields: dict[str, tuple], *, customer_id: int | None = None) -> int:
    """One record's change, for a service that wrote it with QuerySet.update."""
    from .registry import customer_of

    change = Change(
        object_id=instance.pk,
        customer_id=customer_id if customer_id is not None else customer_of(instance),
        label=smart_str(instance),
        fields=fields,
    )
    return record_changes(type(instance), [change])


def _text(value) -> str:
    """Values as django-auditlog writes them (strings; None as "None")."""
    return smart_str(value)
