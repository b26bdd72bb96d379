"""`manage.py rebuild_lateness [--check] [--today YYYY-MM-DD]`: rebuild the forecast's kept days-late
bins, or report the customers whose kept bins differ from a recomputation (exit status 1 on any)."""

from datetime import date

from customers.management.kept_figures import KeptFiguresCommand
from reports.lateness import lateness_drift, refresh_lateness


class Command(KeptFiguresCommand):
    help = "Recompute every customer's days-late bins for the forecast, or with --check only report drift."

    def rebuild(self, day: date) -> None:
        rows = refresh_lateness(as_of=day)
        self.stdout.write(f"Days-late bins as of {day}: {rows} rows kept.")

    def check_drift(self, day: date) -> str | None:
        wrong = lateness_drift(as_of=day)
        if not wrong:
            self.stdout.write(f"Days-late bins as of {day}: no drift.")
            return None
        shown = ", ".join(str(pk) for pk in wrong[: self.shown])
        return f"{len(wrong)} customers' days-late bins differ as of {day} (first: {shown})."
