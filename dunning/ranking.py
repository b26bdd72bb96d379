"""What is at stake with a customer proposed for prepayment only or credit hold, in points.

The proposals queue of a large ledger holds thousands of customers; a credit manager works it from
the top, so the order must put first the customers where a decision protects the most money and
where the evidence is strongest. Points, each shown on the page beside its input:

- overdue amount (customer's currency): 50 above nothing, 150 from 1,000, 300 from 10,000,
  400 from 50,000;
- open amount not yet due (the credit still running): 25 from 1,000, 50 from 10,000, 100 from 50,000;
- agreements broken in twelve months: 75 each, at most 300;
- days the oldest overdue invoice is late: 25 above 0, 100 above 30, 150 above 60, 200 above 90;
- average days late against the segment's threshold: 60 above it, 120 from twice, 200 from three times.

Amounts count in bands of the customer's own currency: no exchange rates are applied and no two
currencies are added, and the bands are wide enough that EUR, GBP and USD customers rank alike.
Ties are broken by the oldest overdue invoice, then by the proposal's age.

Worth-it (the reports app's score) could later subtract points for a customer worth keeping,
through `customer__worth_it__score`; it is not used yet.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

AMOUNT_BANDS = ((Decimal(50_000), 400), (Decimal(10_000), 300), (Decimal(1_000), 150), (Decimal("0.01"), 50))
EXPOSURE_BANDS = ((Decimal(50_000), 100), (Decimal(10_000), 50), (Decimal(1_000), 25))
POINTS_PER_BROKEN = 75
MOST_FOR_BROKEN = 300
DAYS_OVERDUE_BANDS = ((91, 200), (61, 150), (31, 100), (1, 25))
LATENESS_RATIO_BANDS = ((Decimal(3), 200), (Decimal(2), 120))
PAST_THRESHOLD = 60


@dataclass(frozen=True)
class Stake:
    """A customer's figures on one day, as the proposal stores them."""

    currency: str = ""
    open_amount: Decimal = Decimal("0.00")
    overdue_amount: Decimal = Decimal("0.00")
    oldest_due_date: date | None = None
    broken_agreements: int = 0
    average_days_late: Decimal = Decimal("0.0")  # as stored: one decimal
    lateness_threshold_days: int = 30
    days_late_exact: float | None = None  # unrounded, for the rule's comparison (when known)

    @property
    def pays_late(self) -> bool:
        """Average lateness past the segment's threshold (compared before rounding)."""
        late = self.average_days_late if self.days_late_exact is None else self.days_late_exact
        return late > self.lateness_threshold_days

    def points(self, today: date) -> int:
        return (
            band(self.overdue_amount, AMOUNT_BANDS)
            + band(self.open_amount - self.overdue_amount, EXPOSURE_BANDS)
            + min(self.broken_agreements * POINTS_PER_BROKEN, MOST_FOR_BROKEN)
            + band((today - self.oldest_due_date).days if self.oldest_due_date else 0, DAYS_OVERDUE_BANDS)
            + self.lateness_points()
        )

    def lateness_points(self) -> int:
        threshold = Decimal(max(self.lateness_threshold_days, 1))
        if not self.pays_late:
            return 0
        return band(self.average_days_late / threshold, LATENESS_RATIO_BANDS) or PAST_THRESHOLD


def band(value, bands) -> int:
    """The points of the first band whose floor the value reaches (bands listed highest first)."""
    return next((points for floor, points in bands if value >= floor), 0)
