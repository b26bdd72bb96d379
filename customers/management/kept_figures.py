"""The base of the commands that rebuild kept figures or, with --check, report their drift.

Every app that keeps precomputed rows (calls' standings, the reports' worth-it scores, debt bands and
days-late bins) has one such command, and they share one shape: a `--check` flag, an option naming
the day the figures are stated as of (today by default), a rebuild that writes, and a check that
writes nothing and exits with status 1 (a CommandError) when any row differs from a full
recomputation, so a cron job or CI notices. Each command says only what it rebuilds and checks.
It lives in `customers`, the app every other one depends on.
"""

from collections.abc import Sequence
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class KeptFiguresCommand(BaseCommand):
    """Subclasses set `day_option` and `day_help`, and implement `rebuild` and `check_drift` (not
    `check`: that is BaseCommand's own, the system checks `manage.py` runs before every command)."""

    day_option = "--today"  # the option naming the day; its value reaches `rebuild`/`check_drift` as `day`
    day_help = "The day to keep as of (default: today)."
    shown = 20  # drift lines written out before "... and N more"

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Report drift only; change nothing; exit 1 if any."
        )
        parser.add_argument(self.day_option, type=date.fromisoformat, default=None, help=self.day_help)

    def handle(self, *args, check: bool, **options):
        day = options[self.day_option.removeprefix("--")] or timezone.localdate()
        if not check:
            self.rebuild(day)
            return
        failure = self.check_drift(day)
        if failure:
            raise CommandError(failure)

    def rebuild(self, day: date) -> None:
        """Recompute and write every row as of `day`, saying what was written."""
        raise NotImplementedError

    def check_drift(self, day: date) -> str | None:
        """Compare every row with a full recomputation as of `day`: the failure's summary, or None
        (after saying that nothing drifted)."""
        raise NotImplementedError

    def show_drift(self, lines: Sequence[str]) -> None:
        """Write the first `shown` lines of a drift report to stderr, and how many more there are."""
        for line in lines[: self.shown]:
            self.stderr.write(line)
        if len(lines) > self.shown:
            self.stderr.write(f"... and {len(lines) - self.shown} more")
