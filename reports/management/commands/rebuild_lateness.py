"""`manage.py rebuild_lateness [--check] [--today YYYY-MM-DD]`: rebuild the forecast's kept days-late
bins, or report the customers whose kept bins differ from a recomputation (exit status 1 on any)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports.lateness import lateness_drift, refresh_lateness

SHOWN = 20


class Command(BaseCommand):
    help = "Recompute every customer's days-late bins for the forecast, or with --check only report drift."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Report drift; change nothing.")
        parser.add_argument(
            "--today", type=date.fromisoformat, default=None, help="The day to keep as of (default: today)."
        )

    def handle(self, *args, check, today, **options):
        today = today or timezone.localdate()
        if not check:
            rows = refresh_lateness(as_of=today)
            self.stdout.write(f"Days-late bins as of {today}: {rows} rows kept.")
            return
        wrong = lateness_drift(as_of=today)
        if not wrong:
            self.stdout.write(f"Days-late bins as of {today}: no drift.")
            return
        shown = ", ".join(str(pk) for pk in wrong[:SHOWN])
        raise CommandError(f"{len(wrong)} customers' days-late bins differ as of {today} (first: {shown}).")
