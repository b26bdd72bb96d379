"""`manage.py rebuild_worth_it [--check] [--today YYYY-MM-DD]`: rebuild the kept worth-it scores and
debt-band rows (reports/debt_bands.py), or report where they differ from a full recomputation (exit
status 1 on any difference)."""

from datetime import date

from customers.management.kept_figures import KeptFiguresCommand
from reports.debt_bands import debt_band_drift, rebuild_debt_bands
from reports.scores import rebuild_worth_it_scores, worth_it_drift


class Command(KeptFiguresCommand):
    help = "Recompute every customer's kept worth-it score, or with --check only report drift."
    day_help = "The day to score as of (default: today)."

    def rebuild(self, day: date) -> None:
        result = rebuild_worth_it_scores(today=day)
        self.stdout.write(
            f"Worth-it scores as of {day}: {result.customers} customers, {result.written} rows written."
        )
        banded = rebuild_debt_bands(today=day)
        self.stdout.write(f"Debt bands as of {day}: {len(banded)} customers' rows written.")

    def check_drift(self, day: date) -> str | None:
        scores, bands = worth_it_drift(today=day), debt_band_drift(today=day)
        if not scores and not bands:
            self.stdout.write(f"Worth-it scores as of {day}: no drift.")
            return None
        self.show_drift(scores + bands)
        differing = [f"{len(scores)} kept worth-it scores"] if scores else []
        differing += [f"{len(bands)} customers' kept debt-band rows"] if bands else []
        return f"{' and '.join(differing)} differ from a recomputation as of {day}."
