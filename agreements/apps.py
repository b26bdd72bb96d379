from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "agreements"

    def ready(self) -> None:
        from audit.registry import register

        from .models import Agreement

        # The audit trail (audit/): what of these records is recorded on every change.
        register(
            Agreement,
            fields=["kind", "state", "total_amount", "currency", "made_on", "closed_on"],
            customer="customer_id",
        )
