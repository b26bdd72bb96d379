"""The admin site, open to credit managers only (kept apart from admin.py, which registers models on it)."""

from django.contrib import admin

from customers.access import Capability, may


class CreditDeskAdminSite(admin.AdminSite):
    """Django's admin, open only to those the capability table lets use it (credit managers).

    The admin writes rows directly, around the services; model permissions alone would let an
    integrator (who holds change_invoice to sync) set an invoice's status there. So the whole site
    asks customers.access first; staff status is still needed to sign in to it.
    """

    site_header = "CreditDesk admin"

    def has_permission(self, request):
        return super().has_permission(request) and may(request.user, Capability.USE_ADMIN)
