from django.contrib import admin

from .models import RevenueScaleSnapshot, WorthItSettings


@admin.register(WorthItSettings)
class WorthItSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "revenue_weight", "punctuality_weight", "updated_at")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not WorthItSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RevenueScaleSnapshot)
class RevenueScaleSnapshotAdmin(admin.ModelAdmin):
    """Read-only: the snapshots are rebuilt by the worth-it score itself."""

    list_display = ("currency", "window_end", "fingerprint", "computed_at")
    list_filter = ("currency", "window_end")
    search_fields = ("currency",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
