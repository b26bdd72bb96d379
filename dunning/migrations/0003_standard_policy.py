"""Data: the default policy "Standard" with its four steps (-3, +3, +7, +30)."""

from django.db import migrations

from dunning.defaults import STANDARD_POLICY_NAME, STANDARD_STEPS


def create_standard_policy(apps, schema_editor):
    Policy = apps.get_model("dunning", "Policy")
    Step = apps.get_model("dunning", "Step")
    if Policy.objects.filter(is_default=True).exists():
        return
    policy, _ = Policy.objects.get_or_create(name=STANDARD_POLICY_NAME, defaults={"is_default": True})
    for spec in STANDARD_STEPS:
        Step.objects.get_or_create(policy=policy, offset_days=spec["offset_days"], defaults=spec)


class Migration(migrations.Migration):
    dependencies = [("dunning", "0002_reminder_claims_and_proposals")]

    operations = [migrations.RunPython(create_standard_policy, migrations.RunPython.noop)]
