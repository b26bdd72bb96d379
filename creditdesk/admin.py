"""The admin of the project's own tables: the stored answers of idempotent API requests (read-only).

The site itself (credit managers only) is creditdesk.admin_site.CreditDeskAdminSite.
"""

from django.contrib import admin

from customers.admin import ReadOnlyAdminMixin

from .models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "user", "method", "path", "status_code", "created_at"]
    list_filter = ["method", "status_code", "created_at"]
    search_fields = ["key", "path", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in IdempotencyRecord._meta.fields]
    deletable = True  # written only by the API, when a POST carries an Idempotency-Key
