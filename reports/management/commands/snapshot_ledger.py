"""Fill (backfill) the daily ledger snapshots the dashboard reads for past days, or check them."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports import channels, snapshots


class Command(BaseCommand):
    help = "Backfill the daily ledger snapshots for the last N months (and every past month's sales)."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=0, help="Also fill every day of the last N months.")
        parser.add_argument(
            "--today", type=date.fromisoformat, help="The day to count from (default: today)."
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Compare every kept day with the live figures; exit 1 on drift.",
        )
        parser.add_argument("--drop", action="store_true", help="Drop every snapshot first (a full rebuild).")

    def handle(self, *args, months, today, check, drop, **options):
        today = today or timezone.localdate()
        if check:
            drifted = snapshots.drift() + channels.drift()
            if drifted:
                raise CommandError(
                    f"Snapshots differ from the live figures on {len(drifted)} day(s): {drifted[:10]}"
                )
            self.stdout.write("Every kept snapshot equals the live figures.")
            return
        if drop:
            snapshots.drop_all()
        result = snapshots.refresh(today=today, months_back=months)
        channel_months = channels.refresh(today=today, months=max(months, channels.KEPT_MONTHS))
        channel_days = channels.refresh_days(today=today)
        self.stdout.write(
            f"Filled {result['days']} day(s), {result['months']} month(s), {channel_months} month(s) and "
            f"{channel_days} day(s) of channels"
            + (" after regrouping (customers moved)." if result["regrouped"] else ".")
        )
