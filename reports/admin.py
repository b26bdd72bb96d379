from django.contrib import admin

from .models import WorthItSettings


@admin.register(WorthItSettings)
class WorthItSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "revenue_weight", "punctuality_weight", "updated_at")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not WorthItSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
