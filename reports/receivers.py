"""Keeps the worth-it scores in step with the apps below: connected in `ReportsConfig.ready`."""

from django.dispatch import receiver
from django.utils import timezone

from customers.signals import customer_facts_changed

from .scores import refresh_worth_it_scores


@receiver(customer_facts_changed, dispatch_uid="reports.refresh_worth_it")
def refresh_worth_it(sender, *, customer_ids, facts, **kwargs) -> None:
    """Recompute the scores of these customers as of today, in the sender's transaction: only the
    sources the facts can change (reports/scores.py FACT_SOURCES; tasks change nothing, and an
    unknown word refreshes everything: a needless refresh costs a few queries, a missed one a wrong
    score until the night)."""
    refresh_worth_it_scores(customer_ids, today=timezone.localdate(), facts=facts)
