"""`manage.py rebuild_lateness [--check] [--today YYYY-MM-DD]`: rebuild the forecast's kept days-late
bins and the spreads made from them, or report the customers whose kept rows differ from a
recomputation (exit status 1 on any)."""

from datetime import date

from customers.management.kept_figures import KeptFiguresCommand
from reports.lateness import lateness_drift, refresh_lateness
from reports.spreads import refresh_spreads, spread_drift


class Command(KeptFiguresCommand):
    help = (
        "Recompute every customer's days-late bins and forecast spreads, or with --check only report drift."
    )

    def rebuild(self, day: date) -> None:
        bins = refresh_lateness(as_of=day)
        spreads = refresh_spreads(as_of=day)
        self.stdout.write(f"Days-late bins as of {day}: {bins} rows kept; forecast spreads: {spreads} rows.")

    def check_drift(self, day: date) -> str | None:
        failures = []
        for what, wrong in (
            ("days-late bins", lateness_drift(as_of=day)),
            ("forecast spreads", spread_drift(as_of=day)),
        ):
            if wrong:
                shown = ", ".join(str(pk) for pk in wrong[: self.shown])
                failures.append(f"{len(wrong)} customers' {what} differ as of {day} (first: {shown}).")
            else:
                self.stdout.write(f"{what.capitalize()} as of {day}: no drift.")
        return " ".join(failures) or None
