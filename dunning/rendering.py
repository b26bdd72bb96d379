"""Turning a step's templates into the words of one reminder.

Subject and body are plain text (email, SMS, the body of a letter), so they are rendered without
HTML escaping; the PDF letter escapes the body itself when it places it in HTML.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from django.template import Context, Engine, Template
from django.utils.formats import number_format

TEXT_ENGINE = Engine(
    autoescape=False, libraries={"humanize": "django.contrib.humanize.templatetags.humanize"}
)


@dataclass(frozen=True)
class InvoiceLine:
    """An invoice as a reminder lists it, with what is open on the reminder's day."""

    invoice_id: int
    number: str
    issue_date: date
    due_date: date
    currency: str
    amount: Decimal
    open_amount: Decimal
    days_overdue: int


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    open_amount: Decimal
    count: int


@lru_cache(maxsize=256)
def compile_template(source: str) -> Template:
    """Compile a step template once per process (steps change rarely, runs render thousands)."""
    return TEXT_ENGINE.from_string(source)


def money(amount: Decimal, currency: str) -> str:
    return f"{currency} {number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)}"


def totals_by_currency(lines: list[InvoiceLine]) -> list[CurrencyTotal]:
    """One total per currency: amounts in different currencies are never added together."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for line in lines:
        sums[line.currency] += line.open_amount
        counts[line.currency] += 1
    return [CurrencyTotal(currency, sums[currency], counts[currency]) for currency in sorted(sums)]


def invoice_table(lines: list[InvoiceLine]) -> str:
    """The invoices as an aligned plain-text table, for emails and letters."""
    rows = [("Invoice", "Issued", "Due", "Days late", "Open")]
    rows += [
        (
            line.number,
            line.issue_date.isoformat(),
            line.due_date.isoformat(),
            str(line.days_overdue) if line.days_overdue > 0 else "not yet due",
            money(line.open_amount, line.currency),
        )
        for line in lines
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    text = [
        "  ".join(
            cell.rjust(width) if column == 4 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(text)


def reminder_context(*, customer, contact, lines: list[InvoiceLine], step, run_on: date, sender: str) -> dict:
    """What a step template may use: customer, contact, contact_name, invoices, totals and more."""
    totals = totals_by_currency(lines)
    return {
        "customer": customer,
        "contact": contact,
        "contact_name": contact.name if contact else customer.name,
        "invoices": lines,
        "invoice_table": invoice_table(lines),
        "totals": totals,
        "totals_text": ", ".join(money(total.open_amount, total.currency) for total in totals),
        "step": step,
        "today": run_on,
        "sender": sender,
    }


def render_text(source: str, context: dict) -> str:
    return compile_template(source).render(Context(context)).strip()
