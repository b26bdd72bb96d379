"""The kinds of customer the demo ledger holds, and how each behaves.

A kind is not stored on the customer (there is no such field, and real data has none): it is the
behaviour the generator gives the account, so a person recognises it from the ledger (lateness,
excuses, complaints, broken promises) and `kind_of(seed, index)` recomputes it for tests and for
the summary `seed_demo` prints.
"""

import random
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    PUNCTUAL = "punctual"
    SLOW = "slow"
    CHRONIC_LATE = "chronic late payer"
    EXCUSE_MAKER = "serial excuse-maker"
    DISPUTER = "disputer"
    PROMISE_BREAKER = "promise breaker"


# Every block of 20 consecutive accounts holds exactly these kinds, shuffled per block: even a small
# demo (20+ customers) has every kind, and the mix does not depend on how the run is chunked.
BLOCK = (
    [Kind.PUNCTUAL] * 7
    + [Kind.SLOW] * 5
    + [Kind.CHRONIC_LATE] * 2
    + [Kind.EXCUSE_MAKER] * 2
    + [Kind.DISPUTER] * 2
    + [Kind.PROMISE_BREAKER] * 2
)


@dataclass(frozen=True)
class Behaviour:
    """How an account of one kind pays and what it costs to collect from it."""

    # Days paid after the due date: triangular(low, high, mode); negative is early.
    lateness: tuple[int, int, int]
    # Chance an invoice is simply never paid (stays open, or is written off when old).
    never_paid: float
    # Chance an invoice is paid in two parts.
    partial: float
    # Chance a late invoice leads to a promise to pay, and the share of promises broken.
    promise: float
    broken_share: float
    # Chance the account agrees a payment plan.
    plan: float
    # Chance per invoice of a complaint.
    complaint: float
    # Chance per week with overdue invoices that the collector chases, and per reached call of an excuse.
    chase: float
    excuse: float
    # Chance of a "refused to pay" on a reached call.
    refusal: float


BEHAVIOURS = {
    Kind.PUNCTUAL: Behaviour((-6, 4, -1), 0.0, 0.01, 0.01, 0.0, 0.0, 0.004, 0.10, 0.05, 0.0),
    Kind.SLOW: Behaviour((2, 32, 12), 0.002, 0.04, 0.03, 0.1, 0.0, 0.01, 0.25, 0.15, 0.0),
    Kind.CHRONIC_LATE: Behaviour((25, 110, 55), 0.04, 0.12, 0.06, 0.35, 0.6, 0.01, 0.55, 0.25, 0.05),
    Kind.EXCUSE_MAKER: Behaviour((10, 60, 25), 0.015, 0.06, 0.05, 0.3, 0.25, 0.01, 0.65, 0.75, 0.02),
    Kind.DISPUTER: Behaviour((0, 25, 8), 0.005, 0.04, 0.02, 0.2, 0.0, 0.09, 0.35, 0.1, 0.02),
    Kind.PROMISE_BREAKER: Behaviour((15, 90, 40), 0.05, 0.1, 0.15, 0.8, 0.7, 0.01, 0.6, 0.3, 0.05),
}


def kind_of(seed: int, index: int) -> Kind:
    """The kind of the `index`-th demo account (0-based) for this seed."""
    block, position = divmod(index, len(BLOCK))
    kinds = list(BLOCK)
    random.Random(f"creditdesk-demo-kinds:{seed}:{block}").shuffle(kinds)
    return kinds[position]
