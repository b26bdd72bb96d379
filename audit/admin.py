"""The audit trail in the admin: read-only. Nobody adds, changes or deletes an entry here."""

from auditlog.admin import LogEntryAdmin
from django.contrib import admin

from customers.admin import ReadOnlyAdminMixin

from .models import Entry

if admin.site.is_registered(Entry):
    admin.site.unregister(Entry)  # auditlog's own admin registers the entry model; ours replaces it


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdminMixin, LogEntryAdmin):
    list_display = ["created", "resource_url", "action", "msg_short", "who", "channel"]
    list_filter = ["action", "channel", "by_token", "content_type"]
    fieldsets = [
        (None, {"fields": ["created", "user_url", "who", "channel", "resource_url", "customer_id"]}),
        ("Changes", {"fields": ["action", "msg"]}),
    ]
    readonly_fields = [
        "created", "resource_url", "action", "user_url", "msg", "who", "channel", "customer_id",
    ]  # fmt: skip
    actions = None
