from django.apps import AppConfig


class CreditdeskConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "creditdesk"
    verbose_name = "CreditDesk"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .roles import sync_roles_after_migrate

        # New models added by later migrations get their permissions into the roles too.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
