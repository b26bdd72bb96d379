"""The dashboard's content, put together once for the page, the PDF and the CSV export."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from customers.models import Customer, Segment

from . import analytics, charts
from .ledger import (
    AGING_BUCKETS,
    DEFAULT_PERIOD_MONTHS,
    DEFINITIONS,
    LedgerFigures,
    LedgerScope,
    ledger_breakdown,
)


@dataclass
class CurrencySection:
    currency: str
    figures: LedgerFigures
    trend: list[LedgerFigures]
    aging_chart: charts.Chart
    trend_chart: charts.Chart
    effort: analytics.EffortAgainstValue | None = None
    pareto_chart: charts.Chart | None = None
    by_segment: list[LedgerFigures] = field(default_factory=list)
    by_collector: list[LedgerFigures] = field(default_factory=list)

    @property
    def aging_rows(self):
        return [(label, self.figures.aging[key]) for key, label, *_ in AGING_BUCKETS]


def build_dashboard(
    *,
    as_of: date,
    currency: str | None = None,
    segment_id: int | None = None,
    collector_id: int | None = None,
    period_months: int = DEFAULT_PERIOD_MONTHS,
    customers: QuerySet[Customer] | None = None,
) -> dict:
    """Every figure of the dashboard for the day and the part of the ledger asked for."""
    filters = {"currency": currency, "segment_id": segment_id, "collector_id": collector_id}
    scope = LedgerScope(customers=customers, **filters)
    trend, by_segment, by_collector = ledger_breakdown(as_of, scope=scope, period_months=period_months)
    by_segment = _labelled(by_segment, Segment, lambda segment: segment.name, "No segment")
    by_collector = _labelled(
        by_collector, get_user_model(), lambda user: user.get_full_name() or user.username, "Nobody assigned"
    )
    effort = {
        row.currency: row for row in analytics.effort_summaries(today=as_of, customers=customers, **filters)
    }
    sections = []
    for figures in trend[as_of]:
        series = [f for day in trend for f in trend[day] if f.currency == figures.currency]
        section = CurrencySection(
            currency=figures.currency,
            figures=figures,
            trend=series,
            aging_chart=charts.aging_bars([(label, figures.aging[key]) for key, label, *_ in AGING_BUCKETS]),
            trend_chart=charts.line_chart(
                [f.as_of.strftime("%b %y") for f in series],
                [
                    ("DSO", [f.dso for f in series], False),
                    ("Countback DSO", [f.countback_dso for f in series], False),
                    ("Best possible DSO", [f.best_dso for f in series], True),
                ],
            ),
            effort=effort.get(figures.currency),
            by_segment=[f for f in by_segment if f.currency == figures.currency],
            by_collector=[f for f in by_collector if f.currency == figures.currency],
        )
        if section.effort:
            section.pareto_chart = charts.pareto_chart(section.effort.pareto)
        sections.append(section)
    mix = analytics.excuse_mix(today=as_of, customers=customers, **filters)
    return {
        "as_of": as_of,
        "period_months": period_months,
        "sections": sections,
        "definitions": {**DEFINITIONS, **analytics.ANALYTICS_DEFINITIONS},
        "excuse_mix": mix,
        "excuse_chart": charts.stacked_bars(
            [month.strftime("%b") for month in mix.months],
            [mix.counts[m] for m in mix.months],
            mix.categories,
        ),
        "repeated_excuses": analytics.repeated_excuses(today=as_of, customers=customers, **filters),
        "complaint_delays": analytics.complaints_used_to_delay(
            today=as_of, customers=customers, limit=analytics.COMPLAINT_DELAYS_SHOWN, **filters
        ),
        "debt_bands": analytics.payment_rate_by_debt_band(as_of=as_of, customers=customers, **filters),
        "channels": analytics.channel_follow_through(today=as_of, customers=customers, **filters),
    }


def _labelled(figures: list[LedgerFigures], model, label, nobody: str) -> list[LedgerFigures]:
    names = {
        pk: label(obj) for pk, obj in model.objects.in_bulk({f.group_id for f in figures} - {None}).items()
    }
    for row in figures:
        row.group_label = names.get(row.group_id, nobody)
    return sorted(figures, key=lambda row: (row.currency, row.group_label))
