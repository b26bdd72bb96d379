"""Writes of the reports app: the worth-it settings (and with them every kept score)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.access import Actor, Capability, require

from .models import WorthItSettings
from .scores import rebuild_worth_it_scores
from .section_stamps import note_change


@transaction.atomic
def update_worth_it_settings(*, actor: Actor, **values: Any) -> WorthItSettings:
    """Save new weights on the single settings row (created on first save); validates every field.

    Saving the same values twice leaves one row: the row is unique by a constraint on `singleton`.
    Only a credit manager changes them (customers.access: MANAGE_SETTINGS).
    Every kept score is recomputed with the new weights before the transaction commits, so the ranking
    and the worklist never show scores of the old weights (a few seconds on 20,000 customers).
    """
    require(actor, Capability.MANAGE_SETTINGS)
    settings, _ = WorthItSettings.objects.select_for_update().get_or_create(singleton=True)
    for name, value in values.items():
        if name in {"id", "singleton", "updated_at"}:
            raise ValidationError({name: "This field cannot be changed."})
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    rebuild_worth_it_scores(today=timezone.localdate())
    # The effort section costs minutes and values revenue with these: every cached section is stale.
    note_change(facts=None, earliest_day=None)
    return settings
