"""`manage.py run_dunning [--date YYYY-MM-DD] [--dry-run] [--deliver]`: the daily run, by hand.

Runs the same batches as the Celery task, in this process, and prints one row per reminder. With
--dry-run everything is rolled back: the table shows what the run would do.
"""

from dataclasses import dataclass, field
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from audit.context import Channel, as_system
from dunning import selectors, services
from dunning.delivery import DeliveryFailed, deliver
from dunning.rendering import money, totals_by_currency


class DryRunRollback(Exception):
    pass


# Fixed column widths: the table is printed batch by batch, so it cannot be measured first.
WIDTHS = (12, 30, 4, 7, 6, 8, 24, 14)


@dataclass
class RunTotals:
    """What the summary needs of a run, kept as counts (and the new reminders' ids to hand over)."""

    created_reminder_ids: list[int] = field(default_factory=list)
    existing: int = 0
    broken: int = 0
    kept: int = 0
    proposals: int = 0
    printed_header: bool = False

    def add(self, result: services.BatchResult) -> None:
        self.created_reminder_ids += result.created_reminder_ids
        self.existing += len(result.reminders) - len(result.created_reminder_ids)
        self.broken += len(result.broken)
        self.kept += len(result.kept)


class Command(BaseCommand):
    help = "Run the day's dunning: settle agreements, create reminders, propose prepayment; print a table."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The day to run for (YYYY-MM-DD); default today.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would happen; write nothing.")
        parser.add_argument(
            "--deliver", action="store_true", help="Deliver the new reminders now instead of queueing them."
        )
        parser.add_argument(
            "--batch-size", type=int, help="Customers per batch (default DUNNING_BATCH_SIZE)."
        )
        parser.add_argument("--summary-only", action="store_true", help="Print only the totals.")

    @as_system(Channel.COMMAND)  # the audit trail: the dunning run is "system" through "command"
    def handle(self, *args, **options):
        today = self.day(options["date"])
        self.totals = RunTotals()
        dry_run = options["dry_run"]
        try:
            with transaction.atomic():
                book = selectors.policy_book()
                # Batch by batch, each printed as it is done and then let go: memory stays that of one
                # batch whatever the ledger's size. The proposals come last, once over every customer
                # (cheaper than per batch), after the batches settled today's agreements.
                for customer_ids in services.customer_batches(options["batch_size"], today=today, book=book):
                    result = services.run_dunning_batch(
                        customer_ids=customer_ids, today=today, book=book, propose=False
                    )
                    if not options["summary_only"]:
                        self.print_table(result, dry_run)
                    self.totals.add(result)
                self.totals.proposals = services.propose_prepayment_everywhere(today=today)
                if dry_run:
                    raise DryRunRollback
        except DryRunRollback:
            pass
        self.print_summary(self.totals, today, dry_run)
        if not dry_run:
            self.hand_over(self.totals.created_reminder_ids, deliver_now=options["deliver"])

    def day(self, text: str | None) -> date:
        if not text:
            return timezone.localdate()
        try:
            return date.fromisoformat(text)
        except ValueError as error:
            raise CommandError(f"--date must be YYYY-MM-DD, not {text!r}.") from error

    def print_table(self, result: services.BatchResult, dry_run: bool) -> None:
        header = ("Account", "Customer", "Step", "Channel", "Tone", "Invoices", "Open", "Result")
        rows = [] if self.totals.printed_header else [header]
        self.totals.printed_header = True
        for item in result.reminders:
            totals = ", ".join(money(t.open_amount, t.currency) for t in totals_by_currency(item.lines))
            if dry_run:
                outcome = "would create" if item.created else "already done"
            else:
                outcome = f"created R{item.reminder_id}" if item.created else "already done"
            rows.append(
                (
                    item.customer.account_number,
                    item.customer.name[:30],
                    item.step.offset_label,
                    item.step.get_channel_display(),
                    item.step.get_tone_display(),
                    str(len(item.lines)),
                    totals,
                    outcome,
                )
            )
        for row in rows:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, WIDTHS, strict=True)).rstrip()
            )

    def print_summary(self, totals: "RunTotals", today: date, dry_run: bool) -> None:
        verb = "would be" if dry_run else "were"
        created = len(totals.created_reminder_ids)
        self.stdout.write(
            f"{today}: {created} reminder(s) {verb} created ({totals.existing} already done); "
            f"{totals.broken} agreement(s) {verb} broken, {totals.kept} kept; "
            f"{totals.proposals} customer(s) {verb} proposed for prepayment only."
        )

    def hand_over(self, reminder_ids: list[int], deliver_now: bool) -> None:
        if deliver_now:
            failed = 0
            for reminder_id in reminder_ids:
                try:
                    deliver(reminder_id, final_attempt=False)
                except DeliveryFailed as error:
                    failed += 1
                    self.stderr.write(f"R{reminder_id}: {error} (left pending for a retry)")
            self.stdout.write(f"Delivered {len(reminder_ids) - failed}, {failed} failed.")
            return
        from kombu.exceptions import OperationalError as BrokerUnavailable

        from dunning.tasks import deliver_reminder

        try:
            for reminder_id in reminder_ids:
                deliver_reminder.delay(reminder_id)
        except BrokerUnavailable as error:
            raise CommandError(
                f"The reminders are saved, but their delivery could not be queued: the Celery broker "
                f"(Redis) is unreachable ({error}). They stay pending; the worker's deliver_pending sends "
                "them once the broker is back, or run this again with --deliver to send them now."
            ) from error
        self.stdout.write(f"Queued {len(reminder_ids)} delivery(ies) for the worker.")
