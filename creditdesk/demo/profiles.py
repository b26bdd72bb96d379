"""The demo segments: their share of the accounts, terms, invoice sizes and lateness thresholds."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SegmentProfile:
    name: str
    description: str
    share: float
    lateness_threshold_days: int
    payment_terms: tuple[int, ...]
    # Median invoice amount (in the account's currency) and median number of invoices over 18 months.
    median_amount: int
    median_invoices: int
    credit_limit: int
    preferred_channels: tuple[str, ...]
    # Share of accounts that pay in a weekly payment run (one payment settling several invoices).
    pay_run: float


SEGMENTS = (
    SegmentProfile(
        "Key accounts", "Large accounts with a named contact and long terms.", 0.08, 45, (45, 60),
        9000, 85, 250_000, ("email", "phone"), 0.7,
    ),
    SegmentProfile(
        "SME", "Small and medium businesses on standard terms.", 0.50, 30, (30,),
        1400, 40, 25_000, ("email", "email", "phone", "letter"), 0.2,
    ),
    SegmentProfile(
        "Public sector", "Municipalities, hospitals and schools: slow but sure.", 0.12, 60, (30, 60),
        5500, 34, 100_000, ("letter", "email"), 0.6,
    ),
    SegmentProfile(
        "Retail", "Shops on short terms and small amounts.", 0.30, 21, (14,),
        350, 43, 5_000, ("email", "sms"), 0.0,
    ),
)  # fmt: skip
