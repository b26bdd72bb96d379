from django.apps import AppConfig


class CallsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calls"

    def ready(self) -> None:
        from audit.registry import register

        from .models import Complaint

        # The audit trail (audit/): what of these records is recorded on every change.
        register(
            Complaint,
            fields=["outcome", "resolved_on", "resolved_by"],
            customer="customer_id",
            log_create=False,
        )
