"""`manage.py run_dunning [--date YYYY-MM-DD] [--dry-run] [--deliver]`: the daily run, by hand.

Runs the same batches as the Celery task, in this process, and prints one row per reminder. With
--dry-run everything is rolled back: the table shows what the run would do.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from dunning import selectors, services
from dunning.delivery import DeliveryFailed, deliver
from dunning.rendering import money, totals_by_currency


class DryRunRollback(Exception):
    pass


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

    def handle(self, *args, **options):
        today = self.day(options["date"])
        result = services.BatchResult()
        try:
            with transaction.atomic():
                book = selectors.policy_book()
                for customer_ids in services.customer_batches(options["batch_size"]):
                    result.merge(
                        services.run_dunning_batch(customer_ids=customer_ids, today=today, book=book)
                    )
                if options["dry_run"]:
                    raise DryRunRollback
        except DryRunRollback:
            pass
        if not options["summary_only"]:
            self.print_table(result, options["dry_run"])
        self.print_summary(result, today, options["dry_run"])
        if not options["dry_run"]:
            self.hand_over(result.created_reminder_ids, deliver_now=options["deliver"])

    def day(self, text: str | None) -> date:
        if not text:
            return timezone.localdate()
        try:
            return date.fromisoformat(text)
        except ValueError as error:
            raise CommandError(f"--date must be YYYY-MM-DD, not {text!r}.") from error

    def print_table(self, result: services.BatchResult, dry_run: bool) -> None:
        header = ("Account", "Customer", "Step", "Channel", "Tone", "Invoices", "Open", "Result")
        rows = [header]
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
        widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
        for row in rows:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )

    def print_summary(self, result: services.BatchResult, today: date, dry_run: bool) -> None:
        verb = "would be" if dry_run else "were"
        created = len(result.created_reminder_ids)
        existing = len(result.reminders) - created
        self.stdout.write(
            f"{today}: {created} reminder(s) {verb} created ({existing} already done); "
            f"{len(result.broken)} agreement(s) {verb} broken, {len(result.kept)} kept; "
            f"{len(result.proposals)} customer(s) {verb} proposed for prepayment only."
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
