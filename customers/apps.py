from django.apps import AppConfig


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"

    def ready(self) -> None:
        from audit.registry import register

        from .models import Customer

        # The audit trail (audit/): what of these records is recorded on every change.
        register(
            Customer,
            fields=["credit_limit", "credit_hold", "prepayment_only", "dunning_paused_until", "collector",
                    "segment"],
            customer="pk",
        )  # fmt: skip
