"""Keeps the worth-it scores in step with the apps below: connected in `ReportsConfig.ready`."""

from django.dispatch import receiver
from django.utils import timezone

from customers.signals import customer_facts_changed

from .scores import refresh_worth_it_scores

# The facts a worth-it score is made of: payments (revenue, punctuality), invoices (due dates behind
# the days late), contacts (interactions, minutes), agreements (broken), excuses, complaints, reminders.
# Tasks alone change nothing in the score.
SCORED_FACTS = {"payments", "invoices", "contacts", "agreements", "excuses", "complaints", "reminders"}


@receiver(customer_facts_changed, dispatch_uid="reports.refresh_worth_it")
def refresh_worth_it(sender, *, customer_ids, facts, **kwargs) -> None:
    """Recompute the scores of these customers as of today, in the sender's transaction.

    An unknown fact word (a new kind of change) refreshes too: a needless refresh costs a few queries,
    a missed one leaves a wrong score until the night.
    """
    if set(facts) and set(facts) <= {"tasks"}:
        return
    refresh_worth_it_scores(customer_ids, today=timezone.localdate())
