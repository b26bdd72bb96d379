"""One day's dunning run over every customer, batch by batch: time and queries per batch.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_big_dunning python -m bench dunning

Each batch runs exactly as the Celery batch task does (agreements settled, reminders created,
prepayment proposals), then again for the same day (the idempotent re-run a retry would make),
and is then rolled back, so the database is left as it was. By environment: BENCH_DUNNING_DATE
(YYYY-MM-DD, default today), DUNNING_BATCH_SIZE (default 500), BENCH_DUNNING_COMMIT=1 to keep what
the run created. Deliveries run on the workers, apart from creation: a sample of PDF letters (the
costliest channel) is timed separately.
"""

import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import date

LETTER_SAMPLE = 10


class Rollback(Exception):
    pass


@dataclass
class Figures:
    seconds: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    rerun_seconds: list[float] = field(default_factory=list)
    rerun_queries: list[int] = field(default_factory=list)
    reminders: int = 0
    invoices_listed: int = 0
    broken: int = 0
    kept: int = 0
    proposals: int = 0
    letter_seconds: list[float] = field(default_factory=list)


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditdesk.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from customers.models import Customer
    from dunning import selectors, services
    from invoices.models import Invoice

    today = date.fromisoformat(os.environ.get("BENCH_DUNNING_DATE") or timezone.localdate().isoformat())
    commit = os.environ.get("BENCH_DUNNING_COMMIT") == "1"
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"customers: {Customer.objects.count():,}; invoices: {Invoice.objects.count():,}")
    print(
        f"day {today}; batch size {settings.DUNNING_BATCH_SIZE}; {'committed' if commit else 'rolled back'}"
    )
    services.ensure_standard_policy()
    book = selectors.policy_book()
    figures = Figures()
    started = time.perf_counter()
    for customer_ids in services.customer_batches():
        run_batch(customer_ids, today, book, figures, commit)
    report(figures, time.perf_counter() - started)


def run_batch(customer_ids, today, book, figures: Figures, commit: bool) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from dunning import services

    try:
        with transaction.atomic():
            for seconds, queries in (
                (figures.seconds, figures.queries),
                (figures.rerun_seconds, figures.rerun_queries),
            ):
                with CaptureQueriesContext(connection) as captured:
                    tick = time.perf_counter()
                    result = services.run_dunning_batch(customer_ids=customer_ids, today=today, book=book)
                    seconds.append(time.perf_counter() - tick)
                queries.append(len(captured.captured_queries))
                if queries is figures.queries:
                    count(result, figures)
                elif result.created_reminder_ids:
                    raise AssertionError("a same-day re-run created reminders")
            if not commit:
                raise Rollback
    except Rollback:
        pass


def count(result, figures: Figures) -> None:
    created = [item for item in result.reminders if item.created]
    figures.reminders += len(created)
    figures.invoices_listed += sum(len(item.lines) for item in created)
    figures.broken += len(result.broken)
    figures.kept += len(result.kept)
    figures.proposals += len(result.proposals)
    letters = [item.reminder_id for item in created if item.step.channel == "letter"]
    if letters and len(figures.letter_seconds) < LETTER_SAMPLE:
        time_letters(letters[: LETTER_SAMPLE - len(figures.letter_seconds)], figures)


def time_letters(reminder_ids: list[int], figures: Figures) -> None:
    from dunning.delivery import render_letter_pdf
    from dunning.models import Reminder

    for reminder in Reminder.objects.filter(pk__in=reminder_ids).select_related("customer", "step"):
        tick = time.perf_counter()
        render_letter_pdf(reminder)
        figures.letter_seconds.append(time.perf_counter() - tick)


def report(figures: Figures, total: float) -> None:
    first, again = figures.seconds, figures.rerun_seconds
    print(f"batches: {len(first)}; reminders created: {figures.reminders:,}")
    print(f"invoices listed on them: {figures.invoices_listed:,}")
    print(f"agreements broken: {figures.broken:,}; kept: {figures.kept:,}")
    print(f"prepayment-only proposals: {figures.proposals:,}")
    print(f"one day's run (first run, all batches, one process): {sum(first):.1f} s")
    print(f"  per batch: mean {statistics.mean(first):.3f} s, max {max(first):.3f} s")
    print(f"  queries per batch: min {min(figures.queries)}, max {max(figures.queries)}")
    print(f"same-day re-run (creates nothing): {sum(again):.1f} s")
    print(f"  per batch: mean {statistics.mean(again):.3f} s")
    print(f"  queries per batch: min {min(figures.rerun_queries)}, max {max(figures.rerun_queries)}")
    if figures.letter_seconds:
        mean = statistics.mean(figures.letter_seconds)
        print(f"PDF letter rendering: {mean:.3f} s each (sample of {len(figures.letter_seconds)})")
    print(f"wall time including rollbacks: {total:.1f} s")


if __name__ == "__main__":
    main()
