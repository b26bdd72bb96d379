"""`manage.py prune_idempotency_keys [--days 30]`: forget stored API answers older than that.

A retry comes within minutes or hours; keeping answers for weeks only grows the table.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from creditdesk.models import IdempotencyRecord


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key answers older than --days (default 30)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Keep answers younger than this many days.")

    def handle(self, *args, days: int, **options):
        cutoff = timezone.now() - timedelta(days=days)
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"{deleted} stored answer(s) older than {days} days deleted.")
