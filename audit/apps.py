from django.apps import AppConfig


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_save

        from . import context, registry
        from .models import Entry

        pre_save.connect(context.stamp_entry, sender=Entry, dispatch_uid="audit-stamp-entry")
        context.connect_task_signals()
        # A user's roles are their groups: who was given or lost one, and by whom.
        registry.register(get_user_model(), fields=[], m2m_fields={"groups"})
