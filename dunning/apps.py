from django.apps import AppConfig


class DunningConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dunning"

    def ready(self) -> None:
        from audit.registry import register

        from .models import Policy, Step

        # The audit trail (audit/): what of these records is recorded on every change.
        register(Policy)
        register(Step)
