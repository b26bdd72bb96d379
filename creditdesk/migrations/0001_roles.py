"""Create the four role groups (credit manager, collector, finance lead, integrator) with their permissions."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from creditdesk.roles import sync_roles

    sync_roles(apps)


def remove_roles(apps, schema_editor):
    from customers.access import Role

    apps.get_model("auth", "Group").objects.filter(name__in=Role.labels).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0001_initial"),
        ("invoices", "0001_initial"),
        ("agreements", "0001_initial"),
        ("calls", "0001_initial"),
        ("dunning", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
