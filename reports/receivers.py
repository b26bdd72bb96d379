"""What the reports app does when a lower app announces a change (customers.signals)."""

from django.dispatch import receiver

from customers.signals import customer_facts_changed

from . import channels, snapshots
from .sections import bump_ledger_version


@receiver(customer_facts_changed, dispatch_uid="reports.ledger_changed")
def ledger_changed(sender, customer_ids, facts, earliest_day=None, **kwargs) -> None:
    """Every cached dashboard section is stale once the change commits; the daily snapshots from the
    change's earliest day on are marked stale now, in the writer's transaction (a rollback keeps them)."""
    bump_ledger_version()
    if set(facts) & snapshots.LEDGER_FACTS:
        snapshots.invalidate(since=earliest_day)
    if set(facts) & channels.CHANNEL_FACTS:
        channels.invalidate(since=earliest_day)
