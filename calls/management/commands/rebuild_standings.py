"""`manage.py rebuild_standings [--check] [--date YYYY-MM-DD]`: the worklist's precomputed standings.

Without --check: recompute every customer's row, set-based (fills a database migrated to the
standing table, or repairs one). With --check: only compare every row with a full recomputation
and exit non-zero when any drifted.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from calls import standing


class Command(BaseCommand):
    help = "Rebuild (or --check) the worklist's per-customer standings against the ledger."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Report drift only; exit 1 if any.")
        parser.add_argument(
            "--date", type=date.fromisoformat, default=None, help="The day overdue amounts are stated as of."
        )

    def handle(self, *args, check, date, **options):
        if check:
            drift = standing.find_drift()
            if drift:
                raise CommandError(
                    f"Standings drifted: {len(drift.missing)} missing, {len(drift.wrong)} wrong "
                    f"(e.g. customers {drift.customer_ids[:10]}). Run rebuild_standings to repair."
                )
            self.stdout.write(self.style.SUCCESS("Standings match the ledger."))
            return
        count = standing.rebuild_all(as_of=date or timezone.localdate())
        self.stdout.write(self.style.SUCCESS(f"Rebuilt {count} standings."))
