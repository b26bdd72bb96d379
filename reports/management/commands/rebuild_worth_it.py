"""`manage.py rebuild_worth_it [--check] [--today YYYY-MM-DD]`: rebuild the kept worth-it scores and
debt-band rows (reports/debt_bands.py), or report where they differ from a full recomputation (exit
status 1 on any difference)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports.debt_bands import debt_band_drift, rebuild_debt_bands
from reports.scores import rebuild_worth_it_scores, worth_it_drift

SHOWN = 20


class Command(BaseCommand):
    help = "Recompute every customer's kept worth-it score, or with --check only report drift."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Report drift; change nothing.")
        parser.add_argument(
            "--today", type=date.fromisoformat, default=None, help="The day to score as of (default: today)."
        )

    def handle(self, *args, check, today, **options):
        today = today or timezone.localdate()
        if check:
            self.check_drift(today)
            return
        result = rebuild_worth_it_scores(today=today)
        self.stdout.write(
            f"Worth-it scores as of {today}: {result.customers} customers, {result.written} rows written."
        )
        banded = rebuild_debt_bands(today=today)
        self.stdout.write(f"Debt bands as of {today}: {len(banded)} customers' rows written.")

    def check_drift(self, today: date) -> None:
        scores, bands = worth_it_drift(today=today), debt_band_drift(today=today)
        lines = scores + bands
        if not lines:
            self.stdout.write(f"Worth-it scores as of {today}: no drift.")
            return
        for line in lines[:SHOWN]:
            self.stderr.write(line)
        if len(lines) > SHOWN:
            self.stderr.write(f"... and {len(lines) - SHOWN} more")
        differing = [f"{len(scores)} kept worth-it scores"] if scores else []
        differing += [f"{len(bands)} customers' kept debt-band rows"] if bands else []
        raise CommandError(f"{' and '.join(differing)} differ from a recomputation as of {today}.")
