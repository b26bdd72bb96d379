"""Reports keep the worth-it settings a credit manager can change, and what is precomputed for speed
(revenue scale, worth-it scores, ledger and channel snapshots), all of it rebuildable."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from customers.fields import CurrencyField, MoneyField


def WeightField(default: str, help_text: str) -> models.DecimalField:  # noqa: N802
    return models.DecimalField(
        max_digits=5,
        decimal_places=1,
        default=Decimal(default),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=help_text,
    )


def CapField(default: int, help_text: str) -> models.PositiveIntegerField:  # noqa: N802
    return models.PositiveIntegerField(
        default=default, validators=[MinValueValidator(1)], help_text=help_text
    )


class WorthItSettings(models.Model):
    """The weights of the worth-it score: one row (id 1), changed by credit managers.

    Value weights share the 100 points a customer can earn (only their proportions matter).
    Effort weights are the points taken off at most; the full deduction is reached at the "cap" count.
    """

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    revenue_weight = WeightField("60", "Share of the value points earned by revenue paid in 12 months.")
    punctuality_weight = WeightField("40", "Share of the value points earned by paying on time.")
    punctuality_zero_at_days = CapField(60, "Average days late at which punctuality earns nothing.")
    interactions_weight = WeightField("10", "Points off at most for interactions in 12 months.")
    interactions_cap = CapField(24, "Interactions that take the full points off.")
    minutes_weight = WeightField("10", "Points off at most for minutes spent in 12 months.")
    minutes_cap = CapField(240, "Minutes that take the full points off.")
    reminders_weight = WeightField("10", "Points off at most for reminders sent in 12 months.")
    reminders_cap = CapField(12, "Reminders that take the full points off.")
    broken_agreements_weight = WeightField("15", "Points off at most for agreements broken in 12 months.")
    broken_agreements_cap = CapField(3, "Broken agreements that take the full points off.")
    excuses_weight = WeightField("10", "Points off at most for excuses given in 12 months.")
    excuses_cap = CapField(6, "Excuses that take the full points off.")
    complaints_weight = WeightField("5", "Points off at most for complaints opened in 12 months.")
    complaints_cap = CapField(4, "Complaints that take the full points off.")
    rejected_complaints_weight = WeightField(
        "15", "Points off at most for complaints rejected in 12 months (they delayed payment for nothing)."
    )
    rejected_complaints_cap = CapField(2, "Rejected complaints that take the full points off.")
    hourly_collection_cost = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("60.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="What an hour of a collector costs, counted in each customer's own currency.",
    )
    margin_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("20.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Gross margin on revenue: what a customer brings is this share of what they paid.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "worth-it settings"
        verbose_name_plural = "worth-it settings"
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="worth_it_settings_single_row"),
        ]

    def __str__(self) -> str:
        return "Worth-it settings"

    @classmethod
    def current(cls) -> "WorthItSettings":
        """The saved settings, or the defaults (unsaved) when nobody changed them yet. One query."""
        return cls.objects.filter(singleton=True).first() or cls()


# The fields a credit manager edits, in the order the form shows them.
SETTING_FIELDS = [
    f.name for f in WorthItSettings._meta.local_fields if f.name not in {"id", "singleton", "updated_at"}
]


class RevenueScaleSnapshot(models.Model):
    """The sorted 12-month revenues of every paying customer of a currency, kept to rank revenue cheaply.

    A worth-it page of 50 customers needs every customer's revenue in the currency (for percentiles);
    that is a scan of a year of payments, so it is kept here per (currency, window end) and recomputed
    when an allocation is added (the largest allocation id is the fingerprint). A payment whose date is
    edited afterwards is picked up the next day, when the window end changes.
    """

    currency = CurrencyField()
    window_end = models.DateField()
    fingerprint = models.CharField(max_length=64)
    revenues = models.JSONField(
        default=list, help_text="Sorted revenues (decimal strings) of paying customers."
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["currency", "window_end"], name="revenue_scale_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} revenues to {self.window_end}"


class WorthItScore(models.Model):
    """A customer's worth-it score as of a day, with the inputs and points it came from.

    Kept so that the ranking page and the worklist sort and filter by the score in SQL instead of
    recomputing a year of payments and contacts for every customer on each request. Rebuilt for every
    customer by the nightly task (the 12-month window moves each day) and by a change of the weights;
    a change to a customer's payments, contacts, agreements, excuses, complaints or reminders refreshes
    that customer in the same transaction (reports/scores.py). `rebuild_worth_it --check` reports drift.

    Revenue points depend on where the customer's revenue ranks among all customers of its currency,
    so they are kept as computed (`revenue_points`, `revenue_percent`) rather than derived on reading;
    the punctuality and effort points are kept too, so that a re-rank can redo the score in one pass.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="worth_it"
    )
    as_of = models.DateField(help_text="The last day of the 12-month window the score covers.")
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    revenue_paid = models.DecimalField(max_digits=16, decimal_places=2)
    revenue_percent = models.PositiveSmallIntegerField(
        help_text="Share (whole percent) of the currency's customers who paid no more."
    )
    revenue_points = models.DecimalField(max_digits=4, decimal_places=1)
    days_late = models.DecimalField(max_digits=7, decimal_places=1, help_text="Amount-weighted average.")
    punctuality_points = models.DecimalField(max_digits=4, decimal_places=1)
    interaction_count = models.PositiveIntegerField()
    minutes_spent = models.PositiveIntegerField()
    reminder_count = models.PositiveIntegerField()
    broken_agreement_count = models.PositiveIntegerField()
    excuse_count = models.PositiveIntegerField()
    complaint_count = models.PositiveIntegerField()
    rejected_complaint_count = models.PositiveIntegerField()
    effort_points = models.DecimalField(
        max_digits=5, decimal_places=1, help_text="Sum of the effort components' points (zero or less)."
    )

    class Meta:
        indexes = [
            models.Index(fields=["score"], name="worth_it_score_idx"),
            # A payment re-ranks only the customers whose revenue it passed (scores._passed_by): a few
            # index ranges, not a scan of the table joined to every customer.
            models.Index(fields=["revenue_paid"], name="worth_it_revenue_idx"),
        ]

    def __str__(self) -> str:
        return f"Worth-it {self.score} as of {self.as_of}"


class SnapshotDay(models.Model):
    """A day whose ledger positions are in LedgerSnapshot, complete, for the customer grouping of its fill.

    A row exists only when every group of the day was written (in the same transaction); a back-dated
    write marks the days it changed stale (reports/snapshots.py): a stale or missing day is read live,
    and the nightly run refills the stale ones (the rows stay, so the window kept is remembered).
    Groups are the customers' segment and collector when the snapshots were filled
    (SnapshotAssignment); after a reassignment no snapshot is read until they are refilled.
    """

    day = models.DateField(unique=True)
    stale = models.BooleanField(default=False)
    filled_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"snapshot of {self.day}"


class LedgerSnapshot(models.Model):
    """Open amounts per aging bucket on one day, for one (currency, segment, collector).

    Segment and collector are plain ids (0: none) rather than foreign keys: a snapshot is a record of
    sums, it must not be cascaded away or block deleting a segment; ids that no longer exist are
    labelled like "No segment" by the dashboard, as the live figures would be.
    """

    day = models.DateField()
    currency = CurrencyField()
    segment_id = models.IntegerField(default=0)
    collector_id = models.IntegerField(default=0)
    current = MoneyField(default=0)
    days_1_30 = MoneyField(default=0)
    days_31_60 = MoneyField(default=0)
    days_61_90 = MoneyField(default=0)
    over_90 = MoneyField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "currency", "segment_id", "collector_id"],
                name="ledger_snapshot_once_per_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} on {self.day}"


class DebtBandSnapshot(models.Model):
    """The payment rate by debt band on one past day, for one (currency, segment, collector, band): the
    customers whose open balance `LOOKBACK_DAYS` before the day falls in the band, how many paid since,
    their balance and what they paid of it (reports/debt_bands.py). Written with the day's
    LedgerSnapshot rows in one transaction, so SnapshotDay marks both complete (and stale) together.
    `currency` is the invoices' (the figures are per currency); the section's currency filter picks
    customers by their own currency, hence `customer_currency`.
    """

    day = models.DateField()
    currency = CurrencyField()
    customer_currency = CurrencyField()
    segment_id = models.IntegerField(default=0)
    collector_id = models.IntegerField(default=0)
    band = models.PositiveSmallIntegerField()
    customers = models.PositiveIntegerField(default=0)
    paying = models.PositiveIntegerField(default=0)
    balance = MoneyField(default=0)
    paid = MoneyField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "currency", "customer_currency", "segment_id", "collector_id", "band"],
                name="debt_band_snapshot_once_per_group",
            ),
        ]

    def __str__(self) -> str:
        return f"debt band {self.band} in {self.currency} on {self.day}"


class SnapshotMonth(models.Model):
    """A past calendar month whose credit sales are in MonthlySalesSnapshot (see SnapshotDay)."""

    month = models.DateField(unique=True, help_text="First day of the month.")
    stale = models.BooleanField(default=False)
    filled_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"sales of {self.month:%Y-%m}"


class MonthlySalesSnapshot(models.Model):
    """Credit sales (invoices issued, not cancelled or written off) of one month per group."""

    month = models.DateField()
    currency = CurrencyField()
    segment_id = models.IntegerField(default=0)
    collector_id = models.IntegerField(default=0)
    amount = MoneyField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "currency", "segment_id", "collector_id"],
                name="monthly_sales_once_per_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} sales {self.month:%Y-%m}"


class SnapshotAssignment(models.Model):
    """Each customer's segment and collector (0: none) when the snapshots were filled.

    The live figures of a past day group by the customer's current segment and collector; snapshots
    are sums per group, so they are only read while every customer is still where it was then.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    segment_id = models.IntegerField(default=0)
    collector_id = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"customer {self.customer_id} in segment {self.segment_id}, collector {self.collector_id}"


class ChannelMonth(models.Model):
    """A past calendar month whose channel follow-through is in ChannelSnapshot (see SnapshotDay).

    A month's figures depend on its contacts and on payments up to FOLLOW_THROUGH_DAYS after its end,
    so a back-dated contact or payment marks stale the months it can reach (reports/channels.py).
    """

    month = models.DateField(unique=True, help_text="First day of the month.")
    stale = models.BooleanField(default=False)
    # Only payments changed: the follow-through is to be recounted, while the contacts' own figures (the
    # portal's answers) still hold: the portal section keeps reading them (reports/channels.py).
    followed_stale = models.BooleanField(default=False)
    filled_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"channels of {self.month:%Y-%m}"


class ChannelSnapshot(models.Model):
    """Outbound contacts of one month and how many were followed by a payment, per group and channel.

    Segment and collector are plain ids (0: none), as in LedgerSnapshot; channel is the reminder or
    interaction channel as stored ("phone", "email", "letter").
    """

    month = models.DateField()
    currency = CurrencyField()
    segment_id = models.IntegerField(default=0)
    collector_id = models.IntegerField(default=0)
    channel = models.CharField(max_length=10)
    contacts = models.PositiveIntegerField(default=0)
    followed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "currency", "segment_id", "collector_id", "channel"],
                name="channel_snapshot_once_per_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.channel} {self.month:%Y-%m}"


class PortalAnswerSnapshot(models.Model):
    """The answers of one month that followed a reminder, per channel ("portal", "phone"), and the days
    from each one's latest reminder summed (reports/self_service.py). Filled and marked with the
    channel months (ChannelMonth, reports/channels.py): fresh, stale and dropped together."""

    month = models.DateField()
    channel = models.CharField(max_length=10)
    answers = models.PositiveIntegerField(default=0)
    days = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "channel"], name="portal_answer_snapshot_once"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} answers {self.month:%Y-%m}"


class ChannelDay(models.Model):
    """A past day of the current or the previous month, or of the first, partial month of today's
    window, whose channel follow-through is in ChannelDaySnapshot and portal answers in
    PortalAnswerDaySnapshot: the days no kept month covers, so that a request reads only today live
    (reports/channels.py). Marked stale like ChannelMonth: by a contact dated on or before it, its
    follow-through alone by a payment dated up to FOLLOW_THROUGH_DAYS after it."""

    day = models.DateField(unique=True)
    stale = models.BooleanField(default=False)
    followed_stale = models.BooleanField(default=False)  # as ChannelMonth's
    filled_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"channels of {self.day}"


class ChannelDaySnapshot(models.Model):
    """ChannelSnapshot's figures for one day (ChannelDay)."""

    day = models.DateField()
    currency = CurrencyField()
    segment_id = models.IntegerField(default=0)
    collector_id = models.IntegerField(default=0)
    channel = models.CharField(max_length=10)
    contacts = models.PositiveIntegerField(default=0)
    followed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "currency", "segment_id", "collector_id", "channel"],
                name="channel_day_snapshot_once_per_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.channel} {self.day}"


class PortalAnswerDaySnapshot(models.Model):
    """PortalAnswerSnapshot's figures for one day (ChannelDay)."""

    day = models.DateField()
    channel = models.CharField(max_length=10)
    answers = models.PositiveIntegerField(default=0)
    days = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "channel"], name="portal_answer_day_snapshot_once"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} answers {self.day}"


class DebtBandStanding(models.Model):
    """A customer's open balance `BAND_LOOKBACK_DAYS` before a day and what it paid of it since, per
    currency of its invoices: the inputs of the dashboard's payment rate by debt band (reports/debt_bands.py).

    Kept as of today for every customer (a row in its own currency with zeros when it owes nothing), so
    the section sums ~20,000 rows in SQL instead of reading a month of allocations and every open
    invoice. Refreshed per customer in the writer's transaction, rolled to the new day by the nightly
    worth-it task, checked by `rebuild_worth_it --check`.
    """

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    currency = CurrencyField()
    as_of = models.DateField()
    balance = MoneyField(default=0, help_text="Open balance at the start of the lookback.")
    paid = MoneyField(default=0, help_text="Paid of that balance from the start to the day.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency"], name="debt_band_one_row_per_currency")
        ]

    def __str__(self) -> str:
        return f"debt band of customer {self.customer_id} in {self.currency} as of {self.as_of}"


class EarlyWarning(models.Model):
    """A customer whose payment behaviour is getting worse, with each reason in words (one row per
    flagged customer; a customer with no reason has none).

    Kept by reports/early_warning.py: refreshed for the customers a change announces, in the writer's
    transaction, and for everyone nightly (the windows move with the calendar). The worklist and the
    customer page read it through the reverse one-to-one `Customer.early_warning`, so `calls` never
    imports `reports`.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="early_warning"
    )
    as_of = models.DateField()
    reasons = models.JSONField(help_text="The reasons in words, most telling first.")
    kinds = models.JSONField(help_text="The kind of each reason (see early_warning.KINDS).")
    days_late_recent = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    days_late_before = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    open_amount = MoneyField(default=0)
    usual_open_amount = MoneyField(default=0)

    class Meta:
        indexes = [models.Index(fields=["as_of"], name="early_warning_as_of_idx")]

    def __str__(self) -> str:
        return f"Early warning for customer {self.customer_id}: {'; '.join(self.reasons)}"


class LatenessBin(models.Model):
    """One week-wide bin of a customer's amount-weighted days late over the 12 months to `as_of`, per
    currency: the forecast's distributions (reports/forecast.py), precomputed so the forecast as of that
    day reads ~10 rows per customer instead of a year of allocations.

    Kept by reports/lateness.py: every customer rebuilt nightly (the 12-month window moves), the
    customers a payment or an invoice change announces refreshed in the writer's transaction, and
    checked against a recomputation by `manage.py rebuild_lateness --check`. The forecast reads the
    kept rows only when all of them are of its day; otherwise it computes them live with the same query.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="lateness_bins", db_index=False
    )
    currency = CurrencyField()
    bin = models.PositiveSmallIntegerField(help_text="Days late // 7, a year late and more in bin 52.")
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    amount_days = models.DecimalField(max_digits=22, decimal_places=2, help_text="Amount x days late.")
    paid = models.PositiveIntegerField(help_text="Allocations counted.")
    as_of = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency", "bin"], name="lateness_bin_once")
        ]
        indexes = [models.Index(fields=["as_of"], name="lateness_bin_as_of_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency} bin {self.bin}: {self.amount}"


class ForecastSpread(models.Model):
    """One customer's part of the 13-week forecast as of `as_of`, per currency and week: its open
    invoices spread by its own days-late distribution (reports/forecast.py), so the forecast for that
    day sums ~10 rows per customer instead of spreading ~100k invoices over their bins.

    Week 1-13: `expected` and `variance` of the spread (NULL when the customer has too little history
    of its own: its segment's distribution depends on the scope, so those few are spread live), and
    `naive`, the open money due in the week. Week 0: `naive` is all the open money the forecast looks
    at. Kept as LatenessBin is (reports/spreads.py): rebuilt nightly, the customers a write announces
    refreshed in the writer's transaction, checked by `manage.py rebuild_lateness --check`; read only
    when every row is of the forecast's day.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="forecast_spreads", db_index=False
    )
    currency = CurrencyField()
    week = models.PositiveSmallIntegerField(help_text="1-13; 0 holds the open total.")
    expected = models.DecimalField(max_digits=24, decimal_places=6, null=True)
    variance = models.DecimalField(max_digits=34, decimal_places=6, null=True)
    naive = models.DecimalField(max_digits=18, decimal_places=2)
    as_of = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency", "week"], name="forecast_spread_once")
        ]
        indexes = [models.Index(fields=["as_of"], name="forecast_spread_as_of_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency} week {self.week}: {self.expected}"


class KeptForecast(models.Model):
    """The finished 13-week forecast as of a past week-end, for one set of filters: what the backtest
    compares (reports/backtest.py), so each night computes only the newest week-end.

    A forecast as of a past day changes only when history up to that day is corrected: a write's
    `earliest_day` (customers.signals) deletes the rows from that day on, in the writer's transaction
    (reports/receivers.py); a change with no day, or to a customer's segment, deletes them all.
    """

    as_of = models.DateField()
    scope = models.CharField(max_length=200, help_text="The filters, as reports.backtest.scope_key.")
    # {currency: {"expected": [13 decimal strings], "naive": [13 decimal strings]}}
    weeks = models.JSONField()
    made_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["as_of", "scope"], name="kept_forecast_once")]

    def __str__(self) -> str:
        return f"forecast as of {self.as_of} ({self.scope})"
