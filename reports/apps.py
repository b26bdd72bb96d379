from django.apps import AppConfig


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"

    def ready(self) -> None:
        from audit.registry import register

        from . import receivers  # noqa: F401  (connects the receivers of customer_facts_changed)
        from .models import WorthItSettings

        # The audit trail (audit/): what of these records is recorded on every change.
        register(WorthItSettings)
