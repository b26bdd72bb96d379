# The worklist's own copy of the kept worth-it score, and its sort's indexes (calls.standing).

from django.conf import settings
import calls.models
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_kept_scores(apps, schema_editor):
    """Fill the new column from the scores already kept (later writes keep it: reports/scores.py)."""
    Standing = apps.get_model("calls", "Standing")
    WorthItScore = apps.get_model("reports", "WorthItScore")
    score = WorthItScore.objects.filter(customer_id=OuterRef("customer_id")).values("score")[:1]
    Standing.objects.update(worth_it_score=Subquery(score))
    if schema_editor.connection.vendor == "postgresql":
        # Every row was just rewritten: fresh statistics, or the planner misjudges the day's list
        # (as calls.standing.roll_forward does after rewriting every row).
        schema_editor.execute(f"ANALYZE {Standing._meta.db_table}")


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0007_s18_foresight_reason_warning'),
        ('customers', '0003_portal_submissions'),
        ('reports', '0003_worth_it_score'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='standing',
            name='worth_it_score',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='standing',
            index=calls.models.NullsLastIndex(models.F('priority_as_of'), models.OrderBy(models.F('worth_it_score'), descending=True, nulls_last=True), models.F('customer'), condition=models.Q(('on_worklist', True)), include=('overdue_amount', 'overdue_since'), name='standing_worklist_worth_it'),
        ),
        migrations.AddIndex(
            model_name='standing',
            index=calls.models.NullsLastIndex(models.F('priority_as_of'), models.F('collector'), models.OrderBy(models.F('worth_it_score'), descending=True, nulls_last=True), models.F('customer'), condition=models.Q(('on_worklist', True)), include=('overdue_amount', 'overdue_since'), name='standing_portfolio_worth_it'),
        ),
        # The other sorts' indexes carry the score, so its range filter keeps them index-only.
        migrations.RemoveIndex(
            model_name='standing',
            name='standing_worklist_order',
        ),
        migrations.RemoveIndex(
            model_name='standing',
            name='standing_portfolio_order',
        ),
        migrations.RemoveIndex(
            model_name='standing',
            name='standing_worklist_amount',
        ),
        migrations.RemoveIndex(
            model_name='standing',
            name='standing_portfolio_amount',
        ),
        migrations.RemoveIndex(
            model_name='standing',
            name='standing_worklist_days',
        ),
        migrations.RemoveIndex(
            model_name='standing',
            name='standing_portfolio_days',
        ),
        migrations.AddIndex(
            model_name='standing',
            index=models.Index(condition=models.Q(('on_worklist', True)), fields=['priority_as_of', '-priority', 'overdue_since', 'customer'], include=('worth_it_score',), name='standing_worklist_order'),
        ),
        migrations.AddIndex(
            model_name='standing',
            index=models.Index(condition=models.Q(('on_worklist', True)), fields=['priority_as_of', 'collector', '-priority', 'overdue_since', 'customer'], include=('worth_it_score',), name='standing_portfolio_order'),
        ),
        migrations.AddIndex(
            model_name='standing',
            index=models.Index(condition=models.Q(('on_worklist', True)), fields=['priority_as_of', '-overdue_amount', 'customer'], include=('overdue_since', 'worth_it_score'), name='standing_worklist_amount'),
        ),
        migrations.AddIndex(
            model_name='standing',
            index=models.Index(condition=models.Q(('on_worklist', True)), fields=['priority_as_of', 'collector', '-overdue_amount', 'customer'], include=('overdue_since', 'worth_it_score'), name='standing_portfolio_amount'),
        ),
        migrations.AddIndex(
            model_name='standing',
            index=models.Index(condition=models.Q(('on_worklist', True)), fields=['priority_as_of', 'overdue_since', 'customer'], include=('overdue_amount', 'worth_it_score'), name='standing_worklist_days'),
        ),
        migrations.AddIndex(
            model_name='standing',
            index=models.Index(condition=models.Q(('on_worklist', True)), fields=['priority_as_of', 'collector', 'overdue_since', 'customer'], include=('overdue_amount', 'worth_it_score'), name='standing_portfolio_days'),
        ),
        # Filled after the indexes exist: an index built after an UPDATE in the same transaction is
        # marked indcheckxmin, and the planner ignores it while any older transaction still runs.
        migrations.RunPython(copy_kept_scores, migrations.RunPython.noop, elidable=True),
    ]
