"""What the reports app does when a lower app announces a change (customers.signals): connected in
`ReportsConfig.ready`, run in the writer's transaction."""

from datetime import timedelta

from django.dispatch import receiver
from django.utils import timezone

from customers.signals import customer_facts_changed

from . import backtest, channels, debt_bands, snapshots
from .early_warning import WARNING_FACTS, refresh_early_warnings
from .lateness import LATENESS_FACTS, refresh_lateness
from .scores import refresh_worth_it_scores
from .section_stamps import KNOWN_FACTS, note_change
from .spreads import SPREAD_FACTS, keep_spreads


@receiver(customer_facts_changed, dispatch_uid="reports.refresh_worth_it")
def refresh_worth_it(sender, *, customer_ids, facts, **kwargs) -> None:
    """Recompute the scores of these customers as of today: only the sources the facts can change
    (reports/scores.py FACT_SOURCES; tasks change nothing, and an unknown word refreshes everything:
    a needless refresh costs a few queries, a missed one a wrong score until the night)."""
    refresh_worth_it_scores(customer_ids, today=timezone.localdate(), facts=facts)


@receiver(customer_facts_changed, dispatch_uid="reports.ledger_changed")
def ledger_changed(sender, customer_ids, facts, earliest_day=None, added_payment_ids=(), **kwargs) -> None:
    """The cached dashboard sections that read these facts on these days are stale once the change
    commits; the daily snapshots and the backtest's kept forecasts from the change's earliest day on
    are marked stale or deleted now (a rollback keeps them). The kept channel days are corrected in
    place when payments were only added (reports/channels.py)."""
    note_change(facts=facts, earliest_day=earliest_day)
    if set(facts) & snapshots.LEDGER_FACTS:
        snapshots.invalidate(since=earliest_day)
    if set(facts) & channels.CHANNEL_FACTS:
        channels.invalidate(
            since=earliest_day, facts=facts, customer_ids=customer_ids, added_payment_ids=added_payment_ids
        )
    if not facts or set(facts) & backtest.FORECAST_FACTS:
        backtest.invalidate(since=earliest_day)


@receiver(customer_facts_changed, dispatch_uid="reports.refresh_early_warnings")
def refresh_warnings(sender, *, customer_ids, facts, **kwargs) -> None:
    """Re-judge these customers' early warnings as of today when a fact they read changed."""
    if not facts or set(facts) & WARNING_FACTS:
        refresh_early_warnings(customer_ids, today=timezone.localdate())


@receiver(customer_facts_changed, dispatch_uid="reports.refresh_debt_bands")
def refresh_debt_bands(sender, *, customer_ids, facts, earliest_day=None, **kwargs) -> None:
    """Restate these customers' debt-band rows as of today when their invoices or payments changed
    (or they are new); an unknown or missing word refreshes too. New invoices all issued within the
    lookback move nothing (the balance is the one before it, and only its invoices' payments count):
    an import of the day's invoices costs no refresh."""
    today = timezone.localdate()
    if facts and set(facts) <= {"new_invoices"} and earliest_day is not None:
        if earliest_day > today - timedelta(days=debt_bands.LOOKBACK_DAYS):
            return
    if not facts or set(facts) & debt_bands.BAND_FACTS or not set(facts) <= KNOWN_FACTS:
        debt_bands.refresh_debt_bands(customer_ids, today=today)


@receiver(customer_facts_changed, dispatch_uid="reports.refresh_lateness")
def refresh_lateness_bins(sender, *, customer_ids, facts, **kwargs) -> None:
    """Re-keep these customers' days-late bins as of today when a payment or an invoice changed, then
    their forecast spreads (read from those bins) when anything they are spread from changed."""
    today = timezone.localdate()
    if not facts or set(facts) & LATENESS_FACTS:
        refresh_lateness(customer_ids, as_of=today)
    if not facts or set(facts) & SPREAD_FACTS:
        keep_spreads(customer_ids, as_of=today)
