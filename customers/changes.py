"""Saving only what changed: an upsert that sends the values already stored writes nothing.

A sync (API PUT, ERP) re-sends whole records; saving them anyway would move `updated_at`, wake
whoever watches it, and take row locks for nothing. Shared by the customer and invoice upserts.
"""

from django.db.models import Model


def field_values(instance: Model, names) -> dict[str, object]:
    """The stored values of these fields (foreign keys by id), to compare after the new ones are set."""
    attnames = (instance._meta.get_field(name).attname for name in names)
    return {attname: getattr(instance, attname) for attname in attnames}


def save_changed_fields(instance: Model, before: dict[str, object]) -> list[str]:
    """Save the fields whose value differs from `before`, and `updated_at`; nothing when none does.

    Returns the changed fields (by attname). Compare after `full_clean`, which normalises the new
    values (text to Decimal, date...), so "100.0" against a stored 100.00 is no change.
    """
    changed = [attname for attname, value in before.items() if getattr(instance, attname) != value]
    if changed:
        instance.save(update_fields=[*changed, "updated_at"])
    return changed
