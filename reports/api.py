"""/api/v1/reports/...: the dashboard's figures for other systems (finance leads, credit managers).

Mounted by `creditdesk/api.py` under `reports/`. Every amount is a decimal string in the row's currency.
"""

from contextlib import ExitStack

from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.access import Capability, Role, may
from customers.choices import Currency
from customers.models import Segment

from . import analytics, foresight
from .early_warning import kept_warnings
from .forecast import forecast
from .ledger import (
    BUCKET_KEYS,
    DEFAULT_PERIOD_MONTHS,
    DEFINITIONS,
    EARLIEST_AS_OF,
    LATEST_AS_OF,
    LedgerScope,
    ledger_trend,
)
from .models import WorthItSettings
from .replica import reading_reports
from .scores import kept_ranking, scores_serving, worth_it_of
from .worth_it import worth_it_ranking

MONEY = {"max_digits": 16, "decimal_places": 2}
TENTHS = {"max_digits": 10, "decimal_places": 1, "allow_null": True}


class IsFinanceReader(permissions.BasePermission):
    message = "Reports are for finance leads and credit managers."

    def has_permission(self, request, view):
        return may(request.user, Capability.READ_REPORTS)


class ReportQuerySerializer(serializers.Serializer):
    as_of = serializers.DateField(
        required=False,
        help_text="The day to rebuild (default today), from 2000-01-01 to 2099-12-31.",
        validators=[
            MinValueValidator(EARLIEST_AS_OF, "Pick a day in 2000 or later."),
            MaxValueValidator(LATEST_AS_OF, "Pick a day before 2100."),
        ],
    )
    currency = serializers.ChoiceField(choices=Currency.choices, required=False)
    segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all(), required=False)
    collector = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(groups__name=Role.COLLECTOR.label),
        required=False,
        help_text="User id of a collector.",
    )
    period_months = serializers.IntegerField(
        required=False, min_value=1, max_value=12, default=DEFAULT_PERIOD_MONTHS
    )
    group_by = serializers.ChoiceField(choices=["segment", "collector"], required=False)

    def filters(self) -> dict:
        data = self.validated_data
        return {
            "currency": data.get("currency"),
            "segment_id": data["segment"].pk if data.get("segment") else None,
            "collector_id": data["collector"].pk if data.get("collector") else None,
        }


# The excuses endpoint lists the latest rejected complaints used to delay, not a year of them (16,000
# on the 50,000-customer ledger): the caller chooses how many, within a bound.
COMPLAINT_DELAYS_LISTED = 100
COMPLAINT_DELAYS_MAX = 1000


class ExcusesQuerySerializer(ReportQuerySerializer):
    complaint_delays_limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=COMPLAINT_DELAYS_MAX,
        default=COMPLAINT_DELAYS_LISTED,
        help_text=f"How many complaints used to delay to list, the latest rejected first "
        f"(default {COMPLAINT_DELAYS_LISTED}, at most {COMPLAINT_DELAYS_MAX}).",
    )


AgingSerializer = type(
    "AgingSerializer",
    (serializers.Serializer,),
    # Trend points before the as-of day carry only "current" and "overdue".
    {key: serializers.DecimalField(required=False, **MONEY) for key in [*BUCKET_KEYS, "overdue"]},
)


class FiguresSerializer(serializers.Serializer):
    currency = serializers.CharField()
    group_id = serializers.IntegerField(allow_null=True)
    as_of = serializers.DateField()
    period_start = serializers.DateField()
    period_days = serializers.IntegerField()
    receivables = serializers.DecimalField(**MONEY)
    aging = AgingSerializer()
    overdue = serializers.DecimalField(**MONEY)
    overdue_share = serializers.DecimalField(**TENTHS)
    opening_receivables = serializers.DecimalField(**MONEY)
    credit_sales = serializers.DecimalField(**MONEY)
    dso = serializers.DecimalField(**TENTHS)
    countback_dso = serializers.DecimalField(**TENTHS)
    countback_capped = serializers.BooleanField()
    best_dso = serializers.DecimalField(**TENTHS)
    add = serializers.DecimalField(**TENTHS)
    cei = serializers.DecimalField(**TENTHS)


class FiguresResponseSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    definitions = serializers.DictField(child=serializers.CharField())
    results = FiguresSerializer(many=True)


class TrendPointSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    figures = FiguresSerializer(many=True)


class TrendResponseSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    definitions = serializers.DictField(child=serializers.CharField())
    results = TrendPointSerializer(many=True)


class ComponentSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    value = serializers.CharField(help_text="Revenue (amount), average days late, or a count of the effort.")
    weight = serializers.DecimalField(max_digits=5, decimal_places=1)
    points = serializers.DecimalField(max_digits=6, decimal_places=1)
    detail = serializers.CharField()


class WorthItRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    account_number = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    score = serializers.IntegerField(min_value=0, max_value=100)
    components = ComponentSerializer(many=True)


class WorthItPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = WorthItRowSerializer(many=True)


class EffortRowSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    name = serializers.CharField()
    account_number = serializers.CharField()
    minutes = serializers.IntegerField()
    revenue = serializers.DecimalField(**MONEY)
    cost = serializers.DecimalField(**MONEY)
    brings = serializers.DecimalField(**MONEY)


class EffortSerializer(serializers.Serializer):
    currency = serializers.CharField()
    customers = serializers.IntegerField()
    total_minutes = serializers.IntegerField()
    total_revenue = serializers.DecimalField(**MONEY)
    top_tenth_effort_share = serializers.DecimalField(**TENTHS)
    pareto = serializers.ListField(
        child=serializers.ListField(child=serializers.DecimalField(max_digits=5, decimal_places=1)),
        help_text="[share of customers %, cumulative effort %, cumulative revenue %], most effort first.",
    )
    costly = EffortRowSerializer(many=True)


class ExcusesSerializer(serializers.Serializer):
    months = serializers.ListField(child=serializers.DateField())
    counts = serializers.ListField(child=serializers.DictField(child=serializers.IntegerField()))
    totals = serializers.DictField(child=serializers.IntegerField())
    repeated_excuses = serializers.ListField(child=serializers.DictField())
    complaint_delays = serializers.ListField(child=serializers.DictField())
    debt_bands = serializers.ListField(child=serializers.DictField())
    channels = serializers.ListField(child=serializers.DictField())


class ReportView(APIView):
    """A report endpoint: after authentication and the role check (on the primary), its reads go to
    the replica when there is one (reports/replica.py), until the request leaves `dispatch`."""

    permission_classes = [permissions.IsAuthenticated, IsFinanceReader]

    def dispatch(self, request, *args, **kwargs):
        with ExitStack() as self._report_reads:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            self._report_reads.enter_context(reading_reports(user=request.user))

    def read_query(self, request, serializer=ReportQuerySerializer) -> tuple[dict, ReportQuerySerializer]:
        query = serializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return {"as_of": query.validated_data.get("as_of") or timezone.localdate(), **query.filters()}, query


class FiguresView(ReportView):
    @extend_schema(parameters=[ReportQuerySerializer], responses=FiguresResponseSerializer, tags=["reports"])
    def get(self, request):
        """Aging, DSO (standard, countback, best), ADD, CEI, overdue share per currency on `as_of`."""
        filters, query = self.read_query(request)
        as_of = filters.pop("as_of")
        scope = LedgerScope(group_by=query.validated_data.get("group_by"), **filters)
        rows = ledger_trend(as_of, scope=scope, period_months=query.validated_data["period_months"], points=1)
        payload = {"as_of": as_of, "definitions": DEFINITIONS, "results": [f.as_dict() for f in rows[as_of]]}
        return Response(FiguresResponseSerializer(payload).data)


class TrendView(ReportView):
    @extend_schema(parameters=[ReportQuerySerializer], responses=TrendResponseSerializer, tags=["reports"])
    def get(self, request):
        """The same figures at each of the last 12 month ends, the last point being `as_of`."""
        filters, query = self.read_query(request)
        as_of = filters.pop("as_of")
        scope = LedgerScope(group_by=query.validated_data.get("group_by"), **filters)
        trend = ledger_trend(as_of, scope=scope, period_months=query.validated_data["period_months"])
        points = [{"as_of": day, "figures": [f.as_dict() for f in rows]} for day, rows in trend.items()]
        payload = {"as_of": as_of, "definitions": DEFINITIONS, "results": points}
        return Response(TrendResponseSerializer(payload).data)


class WorthItPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _paged_report_schema(page_serializer):
    """The schema of a paged report list: the report filters, page and page_size, 400 and 404."""
    return extend_schema(
        parameters=[
            ReportQuerySerializer,
            OpenApiParameter("page", int, description="Page number, from 1."),
            OpenApiParameter("page_size", int, description="Rows per page (default 50, at most 500)."),
        ],
        responses={
            200: page_serializer,
            400: OpenApiResponse(description="A filter is not valid: the message names the field."),
            404: OpenApiResponse(description="There is no such page."),
        },
        tags=["reports"],
    )


class WorthItView(ReportView):
    @_paged_report_schema(WorthItPageSerializer)
    def get(self, request):
        """Customers ranked by worth-it score, best first, with every component, its weight and points.

        Read from the kept scores (as of the day they were last recomputed: every night, and at once
        for a customer whose facts change), sorted and paged in SQL; a past `as_of` is computed."""
        filters, query = self.read_query(request)
        paginator = WorthItPagination()
        requested = query.validated_data.get("as_of")
        if scores_serving(requested=requested) is None:
            return self.computed_page(request, paginator, filters)
        weights = WorthItSettings.current()
        kept = kept_ranking(
            currency=filters["currency"],
            segment_id=filters["segment_id"],
            collector_id=filters["collector_id"],
        )
        page = paginator.paginate_queryset(kept, request, view=self)
        first = (paginator.page.number - 1) * paginator.page.paginator.per_page + 1
        rows = [
            worth_it_row(rank, row.customer, worth_it_of(row, weights))
            for rank, row in enumerate(page, start=first)
        ]
        return paginator.get_paginated_response(WorthItRowSerializer(rows, many=True).data)

    def computed_page(self, request, paginator, filters):
        """Another day than the kept scores are as of (or none kept yet): every score computed here."""
        ranking = worth_it_ranking(
            today=filters["as_of"],
            currency=filters["currency"],
            segment_id=filters["segment_id"],
            collector_id=filters["collector_id"],
        )
        rows = [worth_it_row(rank, customer, score) for rank, (customer, score) in enumerate(ranking, 1)]
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(WorthItRowSerializer(page, many=True).data)


def worth_it_row(rank: int, customer, worth_it) -> dict:
    return {
        "rank": rank,
        "customer_id": customer.pk,
        "account_number": customer.account_number,
        "name": customer.name,
        "currency": customer.currency,
        "score": worth_it.score,
        "components": [component.__dict__ for component in worth_it.components],
    }


class EffortView(ReportView):
    @extend_schema(
        parameters=[ReportQuerySerializer], responses=EffortSerializer(many=True), tags=["reports"]
    )
    def get(self, request):
        """Per currency: effort share of the top 10% of customers, the Pareto curve, costly customers."""
        filters, _ = self.read_query(request)
        summaries = analytics.effort_against_value(today=filters.pop("as_of"), **filters)
        return Response(EffortSerializer(summaries, many=True).data)


class ExcusesView(ReportView):
    @extend_schema(parameters=[ExcusesQuerySerializer], responses=ExcusesSerializer, tags=["reports"])
    def get(self, request):
        """Excuses by category and month, repeated excuses, the latest complaints used to delay, debt
        bands, channels."""
        filters, query = self.read_query(request, ExcusesQuerySerializer)
        as_of = filters.pop("as_of")
        mix = analytics.excuse_mix(today=as_of, **filters)
        payload = {
            "months": mix.months,
            "counts": [mix.counts[month] for month in mix.months],
            "totals": mix.totals,
            "repeated_excuses": analytics.repeated_excuses(today=as_of, **filters),
            "complaint_delays": analytics.complaints_used_to_delay(
                today=as_of, limit=query.validated_data["complaint_delays_limit"], **filters
            ),
            "debt_bands": analytics.payment_rate_by_debt_band(as_of=as_of, **filters),
            "channels": analytics.channel_follow_through(today=as_of, **filters),
        }
        return Response(ExcusesSerializer(payload).data)


class ForecastWeekSerializer(serializers.Serializer):
    week = serializers.IntegerField()
    starts = serializers.DateField()
    ends = serializers.DateField()
    expected = serializers.DecimalField(**MONEY)
    low = serializers.DecimalField(**MONEY, help_text="10th percentile.")
    high = serializers.DecimalField(**MONEY, help_text="90th percentile.")
    naive = serializers.DecimalField(**MONEY, help_text="Every open invoice paid on its due date.")
    from_invoices = serializers.DecimalField(**MONEY)
    from_agreements = serializers.DecimalField(**MONEY)
    from_disputes = serializers.DecimalField(**MONEY)


class BacktestOriginSerializer(serializers.Serializer):
    as_of = serializers.DateField(help_text="The week-end the forecast was made as of.")
    forecast = serializers.ListField(child=serializers.DecimalField(**MONEY))
    naive = serializers.ListField(child=serializers.DecimalField(**MONEY))
    actual = serializers.ListField(child=serializers.DecimalField(**MONEY), help_text="Payments received.")
    wape = serializers.DecimalField(**TENTHS)
    naive_wape = serializers.DecimalField(**TENTHS)


class BacktestSerializer(serializers.Serializer):
    currency = serializers.CharField()
    wape = serializers.DecimalField(**TENTHS, help_text="Forecast WAPE over every week compared (%).")
    naive_wape = serializers.DecimalField(**TENTHS)
    origins = BacktestOriginSerializer(many=True)


class CurrencyForecastSerializer(serializers.Serializer):
    currency = serializers.CharField()
    as_of = serializers.DateField()
    total = serializers.DecimalField(**MONEY)
    open_amount = serializers.DecimalField(**MONEY)
    not_expected = serializers.DecimalField(**MONEY)
    weeks = ForecastWeekSerializer(many=True)


class ForecastResponseSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    definitions = serializers.DictField(child=serializers.CharField())
    results = CurrencyForecastSerializer(many=True)
    backtest = BacktestSerializer(many=True, allow_null=True, help_text="Null while it is computed.")


class ForecastView(ReportView):
    @extend_schema(parameters=[ReportQuerySerializer], responses=ForecastResponseSerializer, tags=["reports"])
    def get(self, request):
        """Expected receipts per currency for the 13 weeks after `as_of`, with the 10th-90th percentile
        and the naive forecast, and the 26-week backtest (null while the task computing it runs)."""
        filters, _ = self.read_query(request)
        made = forecast(as_of=filters["as_of"], scope=foresight.scope_of(filters))
        payload = {
            "as_of": filters["as_of"],
            "definitions": foresight.FORESIGHT_DEFINITIONS,
            "results": made,
            "backtest": foresight.kept_backtest(filters),
        }
        return Response(ForecastResponseSerializer(payload).data)


class EarlyWarningSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    account_number = serializers.CharField(source="customer.account_number")
    name = serializers.CharField(source="customer.name")
    currency = serializers.CharField(source="customer.currency")
    as_of = serializers.DateField()
    kinds = serializers.ListField(child=serializers.CharField())
    reasons = serializers.ListField(child=serializers.CharField())
    days_late_recent = serializers.DecimalField(**TENTHS)
    days_late_before = serializers.DecimalField(**TENTHS)
    open_amount = serializers.DecimalField(**MONEY)
    usual_open_amount = serializers.DecimalField(**MONEY)


class EarlyWarningPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EarlyWarningSerializer(many=True)


class EarlyWarningView(ReportView):
    @_paged_report_schema(EarlyWarningPageSerializer)
    def get(self, request):
        """Customers whose payment behaviour is getting worse, each reason in words (kept nightly and
        on each change: `as_of` is ignored, each row says the day it was judged)."""
        filters, _ = self.read_query(request)
        rows = kept_warnings(**{key: filters[key] for key in ("currency", "segment_id", "collector_id")})
        paginator = WorthItPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(EarlyWarningSerializer(page, many=True).data)


urlpatterns = [
    path("figures/", FiguresView.as_view(), name="reports-figures"),
    path("trend/", TrendView.as_view(), name="reports-trend"),
    path("worth-it/", WorthItView.as_view(), name="reports-worth-it"),
    path("effort/", EffortView.as_view(), name="reports-effort"),
    path("excuses/", ExcusesView.as_view(), name="reports-excuses"),
    path("forecast/", ForecastView.as_view(), name="reports-forecast"),
    path("early-warning/", EarlyWarningView.as_view(), name="reports-early-warning"),
]
