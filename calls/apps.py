from django.apps import AppConfig


class CallsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calls"

    def ready(self) -> None:
        from audit.registry import register
        from customers.signals import customer_facts_changed

        from .models import Complaint
        from .standing import on_facts_changed

        # The audit trail (audit/): what of these records is recorded on every change.
        register(
            Complaint,
            fields=["outcome", "resolved_on", "resolved_by"],
            customer="customer_id",
            log_create=False,
        )
        # The worklist's precomputed standings follow every change the lower apps announce, in the
        # same transaction (calls.standing).
        customer_facts_changed.connect(on_facts_changed, dispatch_uid="calls.standing")
