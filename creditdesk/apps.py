from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CreditDeskAdminConfig(admin_apps.AdminConfig):
    """The admin with CreditDesk's site: open to credit managers only (see creditdesk.admin_site)."""

    default = False  # the project's own default config is CreditdeskConfig below
    default_site = "creditdesk.admin_site.CreditDeskAdminSite"


class CreditdeskConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "creditdesk"
    verbose_name = "CreditDesk"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .roles import sync_roles_after_migrate

        # New models added by later migrations get their permissions into the roles too.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
