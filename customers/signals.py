"""Signals that let a higher app keep its precomputed per-customer figures in step with a lower one.

Dependencies point down only, so the invoices, agreements and calls services cannot call the code in
`calls` or `reports` that keeps a customer's precomputed facts (worklist standing, worth-it score).
Instead they send `customer_facts_changed` inside their own transaction, and those apps' receivers
recompute the figures of just those customers before the transaction commits: the person who made
the change never sees a stale figure, and a rollback undoes both together.
"""

from django.dispatch import Signal

# Sent with `customer_ids` (a set of ints) and `facts` (a set of words naming what changed: "invoices",
# "new_invoices" (only invoices added, nothing paid on them: worth-it scores stay), "payments",
# "agreements", "contacts", "tasks", "excuses", "complaints", "reminders", and "customer" for the
# account's own fields that figures depend on, such as its currency; "contacts" is also sent for a logged
# call, the worklist's "last contact"), and `earliest_day` (a date or None): the earliest ledger day the
# change can move (an invoice's issue date, a payment's received date, a call's day). Reports drop their
# daily snapshots from that day on; None with "invoices" or "payments" among the facts means "any day" and
# drops them all. `added_payment_ids` (optional): when the change to payments was only adding these (none
# moved or removed), their ids, so a receiver can add what they change instead of recomputing it.
# Receivers must be set-based (a constant number of queries for any number of customers),
# because a bulk import or the dunning run sends one signal for thousands of customers.
customer_facts_changed = Signal()


def announce_change(*, customer_ids, facts: set[str], earliest_day=None, added_payment_ids=()) -> None:
    """Tell the apps that keep precomputed per-customer figures which customers to recompute, and
    (optionally) the earliest day of the ledger the change touched and the payments it only added."""
    ids = {int(pk) for pk in customer_ids if pk is not None}
    if ids:
        customer_facts_changed.send(
            sender=None,
            customer_ids=ids,
            facts=set(facts),
            earliest_day=earliest_day,
            added_payment_ids=set(added_payment_ids),
        )
