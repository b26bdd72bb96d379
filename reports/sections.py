"""The dashboard in sections: the headline at once, each other section from its own URL, each cached.

A finance lead waits for nothing but the headline (per currency: receivables, overdue share, DSO,
countback, best DSO, ADD, CEI); the aging, the trend, the segment and collector tables, effort against
value, excuses and complaints, debt bands and channels load on their own (htmx, or a link without
JavaScript), so the slowest one never holds up the others.

Cache: each section's rendered HTML is kept in the Django cache (Redis when REDIS_URL is set) under
its filters and its *stamp* (reports/section_stamps.py): the digest of the changes, announced by the
lower apps (`customers.signals.customer_facts_changed`), to the facts it reads on the days it covers,
and of the newest customer change (`updated_at`, which a reassignment moves): a cached section is
never older than the last write that changed it. The stamp is read before the figures are computed:
a change committed while they are computed makes the key stale at once rather than filing old
figures under the new stamp. Without REDIS_URL each process would keep its own cache and stamps, so
nothing is cached (REPORTS_CACHE_SECONDS is 0).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.template.loader import render_to_string

from customers.models import Segment

from . import analytics, charts, foresight, self_service
from .ledger import (
    AGING_BUCKETS,
    DEFINITIONS,
    LedgerFigures,
    LedgerScope,
    ledger_breakdown,
    ledger_figures,
    ledger_trend,
)
from .section_stamps import section_stamp

ALL_DEFINITIONS = {
    **DEFINITIONS,
    **analytics.ANALYTICS_DEFINITIONS,
    **foresight.FORESIGHT_DEFINITIONS,
    "portal": self_service.DEFINITION,
}


# --- The cache ------------------------------------------------------------------------------------------


def _cache_key(name: str, filters: dict) -> str:
    described = repr(sorted((key, str(value)) for key, value in filters.items()))
    digest = hashlib.sha256(described.encode()).hexdigest()[:32]
    return f"reports:section:{name}:{section_stamp(name, filters['as_of'])}:{digest}"


def cached(name: str, filters: dict, compute):
    """`compute()` (a rendered section, or a part's figures), from the cache when its stamp already has
    it."""
    seconds = settings.REPORTS_CACHE_SECONDS
    if not seconds:
        return compute()
    key = _cache_key(name, filters)
    hit = cache.get(key)
    if hit is not None:
        return hit
    value = compute()
    cache.set(key, value, seconds)
    return value


# --- The sections --------------------------------------------------------------------------------------


def _scope(filters: dict, **extra) -> LedgerScope:
    return LedgerScope(
        currency=filters.get("currency"),
        segment_id=filters.get("segment_id"),
        collector_id=filters.get("collector_id"),
        **extra,
    )


def _analytics_filters(filters: dict) -> dict:
    return {key: filters.get(key) for key in ("currency", "segment_id", "collector_id")}


def headline(filters: dict) -> list[LedgerFigures]:
    """Per currency, the figures on the as-of day: three queries (snapshots, open invoices, sales)."""
    return ledger_figures(filters["as_of"], scope=_scope(filters), period_months=filters["period_months"])


def aging_context(filters: dict) -> dict:
    rows = []
    for figures in headline(filters):
        aging = [(label, figures.aging[key]) for key, label, *_ in AGING_BUCKETS]
        rows.append(
            {"currency": figures.currency, "aging_rows": aging, "aging_chart": charts.aging_bars(aging)}
        )
    return {"currencies": rows}


def trend_context(filters: dict) -> dict:
    trend = ledger_trend(filters["as_of"], scope=_scope(filters), period_months=filters["period_months"])
    currencies = []
    for figures in trend[filters["as_of"]]:
        series = [f for day in trend for f in trend[day] if f.currency == figures.currency]
        chart = charts.line_chart(
            [f.as_of.strftime("%b %y") for f in series],
            [
                ("DSO", [f.dso for f in series], False),
                ("Countback DSO", [f.countback_dso for f in series], False),
                ("Best possible DSO", [f.best_dso for f in series], True),
            ],
        )
        currencies.append({"currency": figures.currency, "trend": series, "trend_chart": chart})
    return {"currencies": currencies}


def breakdown_context(filters: dict) -> dict:
    _, by_segment, by_collector = ledger_breakdown(
        filters["as_of"], scope=_scope(filters), period_months=filters["period_months"], points=1
    )
    by_segment = _labelled(by_segment, Segment, lambda segment: segment.name, "No segment")
    by_collector = _labelled(
        by_collector, get_user_model(), lambda user: user.get_full_name() or user.username, "Nobody assigned"
    )
    currencies = sorted({row.currency for row in by_segment} | {row.currency for row in by_collector})
    return {
        "currencies": [
            {
                "currency": currency,
                "by_segment": [row for row in by_segment if row.currency == currency],
                "by_collector": [row for row in by_collector if row.currency == currency],
            }
            for currency in currencies
        ]
    }


def _labelled(figures: list[LedgerFigures], model, label, nobody: str) -> list[LedgerFigures]:
    names = {
        pk: label(obj) for pk, obj in model.objects.in_bulk({f.group_id for f in figures} - {None}).items()
    }
    for row in figures:
        row.group_label = names.get(row.group_id, nobody)
    return sorted(figures, key=lambda row: (row.currency, row.group_label))


def effort_context(filters: dict) -> dict:
    rows = analytics.effort_summaries(today=filters["as_of"], **_analytics_filters(filters))
    return {
        "currencies": [
            {"currency": row.currency, "effort": row, "pareto_chart": charts.pareto_chart(row.pareto)}
            for row in rows
        ]
    }


def excuses_context(filters: dict) -> dict:
    today, keywords = filters["as_of"], _analytics_filters(filters)
    # What customers said reads no money: kept apart, so a payment recomputes only the complaints.
    mix, repeated = cached(
        "excuses-said",
        filters,
        lambda: (
            analytics.excuse_mix(today=today, **keywords),
            analytics.repeated_excuses(today=today, **keywords),
        ),
    )
    return {
        "excuse_mix": mix,
        "excuse_chart": charts.stacked_bars(
            [month.strftime("%b") for month in mix.months],
            [mix.counts[m] for m in mix.months],
            mix.categories,
        ),
        "repeated_excuses": repeated,
        "complaint_delays": analytics.complaints_used_to_delay(
            today=today, limit=analytics.COMPLAINT_DELAYS_SHOWN, **keywords
        ),
    }


def debt_bands_context(filters: dict) -> dict:
    return {
        "debt_bands": analytics.payment_rate_by_debt_band(
            as_of=filters["as_of"], **_analytics_filters(filters)
        )
    }


def channels_context(filters: dict) -> dict:
    return {
        "channels": analytics.channel_follow_through(today=filters["as_of"], **_analytics_filters(filters))
    }


def portal_context(filters: dict) -> dict:
    """Ledger-wide (the portal's uptake is not split by currency, segment or collector)."""
    return {
        "portal_share": self_service.portal_share(as_of=filters["as_of"]),
        "days_to_answer": self_service.days_to_answer(as_of=filters["as_of"]),
    }


# name -> (title, context builder); the order is the page's.
SECTIONS = {
    "aging": ("Aging", aging_context),
    "trend": ("DSO trend, 12 months", trend_context),
    "breakdown": ("Segments and collectors", breakdown_context),
    "effort": ("Effort against value", effort_context),
    "excuses": ("Excuses and complaints", excuses_context),
    "debt-bands": ("Payment rate by debt band", debt_bands_context),
    "channels": ("Which channel gets paid", channels_context),
    "forecast": ("Cash-in forecast, 13 weeks", foresight.forecast_context),
    "backtest": ("Forecast against what came in, 26 weeks", foresight.backtest_context),
    "early-warning": ("Early warning: customers paying later", foresight.early_warning_context),
    "portal": ("Self-service portal", portal_context),
}
# Kept elsewhere (reports/foresight.py): a section saying "being computed" must not be cached.
UNCACHED = {"backtest"}


def render_section(name: str, filters: dict) -> str:
    """The HTML of one section (a KeyError for an unknown name), from the cache when it is there."""
    title, build = SECTIONS[name]

    def compute() -> str:
        context = {
            **build(filters),
            "as_of": filters["as_of"],
            "title": title,
            "definitions": ALL_DEFINITIONS,
        }
        return render_to_string(f"reports/sections/{name}.html", context)

    return compute() if name in UNCACHED else cached(name, filters, compute)


def render_headline(filters: dict) -> str:
    def compute() -> str:
        return render_to_string(
            "reports/sections/headline.html",
            {"figures_list": headline(filters), "as_of": filters["as_of"], "definitions": ALL_DEFINITIONS},
        )

    return cached("headline", filters, compute)
