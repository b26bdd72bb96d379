from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "invoices"

    def ready(self) -> None:
        from audit.registry import register

        from .models import Invoice

        # The audit trail (audit/): what of these records is recorded on every change.
        register(Invoice, fields=["status"], customer="customer_id", log_create=False)
