"""Reads of the audit trail."""

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import Entry


def customer_history(*, customer_id: int) -> QuerySet[Entry]:
    """Every entry about the customer: its credit control, its invoices' statuses, agreements and
    complaints; newest first. One indexed range scan on (customer_id, timestamp)."""
    return (
        Entry.objects.filter(customer_id=customer_id)
        .select_related("content_type")
        .order_by("-timestamp", "-id")
    )


def rows_of(entries: Iterable[Entry]) -> list[dict]:
    """Entries as the history page and API show them: who, when, via, what, and field: before -> after."""
    return [
        {
            "id": entry.id,
            "timestamp": entry.timestamp,
            "who": entry.actor_name or "system",
            "by_token": entry.by_token,
            "via": entry.channel or "system",
            "record_type": entry.content_type.model,
            "record_id": entry.object_id,
            "record": entry.object_repr,
            "action": entry.get_action_display(),
            "changes": [
                {"field": field, "before": _shown(values, 0), "after": _shown(values, 1)}
                for field, values in (entry.changes or {}).items()
            ],
        }
        for entry in entries
    ]


def _shown(values, index):
    if isinstance(values, dict):  # m2m: {"type": "m2m", "operation": ..., "objects": [...]}
        objects = ", ".join(values.get("objects", []))
        return "" if index == 0 else f"{values.get('operation')}: {objects}"
    value = values[index]
    return "" if value == "None" else value
