"""`manage.py rebuild_standings [--check] [--date YYYY-MM-DD]`: the worklist's precomputed standings.

Without --check: recompute every customer's row, set-based (fills a database migrated to the
standing table, or repairs one). With --check: only compare every row with a full recomputation
(each as of its own day, so --date plays no part) and exit non-zero when any drifted.
"""

from datetime import date

from calls import standing
from customers.management.kept_figures import KeptFiguresCommand


class Command(KeptFiguresCommand):
    help = "Rebuild (or --check) the worklist's per-customer standings against the ledger."
    day_option = "--date"
    day_help = "The day overdue amounts are stated as of."

    def rebuild(self, day: date) -> None:
        count = standing.rebuild_all(as_of=day)
        self.stdout.write(self.style.SUCCESS(f"Rebuilt {count} standings."))

    def check_drift(self, day: date) -> str | None:
        drift = standing.find_drift()
        if drift:
            return (
                f"Standings drifted: {len(drift.missing)} missing, {len(drift.wrong)} wrong "
                f"(e.g. customers {drift.customer_ids[:10]}). Run rebuild_standings to repair."
            )
        self.stdout.write(self.style.SUCCESS("Standings match the ledger."))
        return None
