from django.contrib import admin

from customers.admin import ReadOnlyAdminMixin

from .models import (
    SETTING_FIELDS,
    ChannelDay,
    ChannelDaySnapshot,
    ChannelMonth,
    ChannelSnapshot,
    DebtBandSnapshot,
    DebtBandStanding,
    EarlyWarning,
    ForecastSpread,
    KeptForecast,
    LatenessBin,
    LedgerSnapshot,
    MonthlySalesSnapshot,
    PortalAnswerDaySnapshot,
    PortalAnswerSnapshot,
    RevenueScaleSnapshot,
    SnapshotAssignment,
    SnapshotDay,
    SnapshotMonth,
    WorthItScore,
    WorthItSettings,
)
from .services import update_worth_it_settings


class KeptFiguresAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: figures the reports app computes and keeps (rebuilt by its commands and nightly tasks);
    an edit here would be drift, which the checks report."""


for kept in (
    SnapshotDay,
    LedgerSnapshot,
    SnapshotMonth,
    MonthlySalesSnapshot,
    SnapshotAssignment,
    ChannelMonth,
    ChannelSnapshot,
    DebtBandSnapshot,
    PortalAnswerSnapshot,
    ChannelDay,
    ChannelDaySnapshot,
    PortalAnswerDaySnapshot,
):
    admin.site.register(kept, KeptFiguresAdmin)


@admin.register(WorthItSettings)
class WorthItSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "revenue_weight", "punctuality_weight", "updated_at")

    def save_model(self, request, obj, form, change):
        """Through the service, as the worth-it page saves them: the capability check, every kept score
        recomputed with the new weights and the cached sections staled, in this transaction."""
        values = {name: form.cleaned_data[name] for name in SETTING_FIELDS if name in form.cleaned_data}
        saved = update_worth_it_settings(actor=request.user, **values)
        obj.pk, obj.updated_at = saved.pk, saved.updated_at

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not WorthItSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RevenueScaleSnapshot)
class RevenueScaleSnapshotAdmin(KeptFiguresAdmin):
    """The snapshots are rebuilt by the worth-it score itself."""

    list_display = ("currency", "window_end", "fingerprint", "computed_at")
    list_filter = ("currency", "window_end")
    search_fields = ("currency",)


@admin.register(WorthItScore)
class WorthItScoreAdmin(KeptFiguresAdmin):
    """The kept scores are written by reports/scores.py (rebuild_worth_it repairs them)."""

    list_display = ("customer", "score", "as_of", "revenue_paid", "revenue_points", "effort_points")
    list_filter = ("as_of",)
    search_fields = ("customer__name", "customer__account_number")
    list_select_related = ("customer",)
    ordering = ("-score", "customer_id")


@admin.register(EarlyWarning)
class EarlyWarningAdmin(KeptFiguresAdmin):
    """Kept by reports/early_warning.py (receivers and the nightly refresh)."""

    list_display = ("customer", "as_of", "__str__")
    list_filter = ("as_of",)
    list_select_related = ("customer",)
    search_fields = ("customer__name", "customer__account_number")


@admin.register(DebtBandStanding)
class DebtBandStandingAdmin(KeptFiguresAdmin):
    """Kept by reports/debt_bands.py (receivers; rolled and checked with rebuild_worth_it)."""

    list_display = ("customer", "currency", "as_of", "balance", "paid")
    list_filter = ("as_of", "currency")
    list_select_related = ("customer",)
    search_fields = ("customer__name", "customer__account_number")


@admin.register(LatenessBin)
class LatenessBinAdmin(KeptFiguresAdmin):
    """Kept by reports/lateness.py (receivers; rebuilt and checked with rebuild_lateness)."""

    list_display = ("customer", "currency", "bin", "amount", "paid", "as_of")
    list_filter = ("as_of", "currency")
    list_select_related = ("customer",)
    search_fields = ("customer__name", "customer__account_number")


@admin.register(ForecastSpread)
class ForecastSpreadAdmin(KeptFiguresAdmin):
    """Kept by reports/spreads.py (receivers; rebuilt and checked with rebuild_lateness)."""

    list_display = ("customer", "currency", "week", "expected", "naive", "as_of")
    list_filter = ("as_of", "currency")
    list_select_related = ("customer",)
    search_fields = ("customer__name", "customer__account_number")


@admin.register(KeptForecast)
class KeptForecastAdmin(KeptFiguresAdmin):
    """The backtest's finished forecasts, one per week-end and filters (reports/backtest.py). A deleted row
    is only made again by the next backtest, so deleting is allowed."""

    deletable = True
    list_display = ("as_of", "scope", "made_at")
    list_filter = ("as_of",)
