"""`manage.py seed_demo`: demo users and a realistic, repeatable ledger (same seed and today, same data)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.context import Channel, as_system
from creditdesk.demo.writer import DEMO_PASSWORD, DEMO_USERS, seed_demo
from customers.models import Customer


class Command(BaseCommand):
    help = "Create the demo users and N demo customers with 18 months of invoices, payments and collections."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500, help="How many customers (default 500).")
        parser.add_argument(
            "--seed", type=int, default=2026, help="Random seed: the same seed gives the same data."
        )
        parser.add_argument(
            "--today", type=date.fromisoformat, default=None,
            help="The day the history ends, YYYY-MM-DD (default: today).",
        )  # fmt: skip
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when customers already exist (for `make run`).",
        )

    @as_system(Channel.COMMAND)
    def handle(self, *args, customers, seed, today, if_empty, **options):
        existing = Customer.objects.count()
        if existing and if_empty:
            self.stdout.write(f"{existing} customers already exist: not seeding demo data (--if-empty).")
            return
        if existing:
            raise CommandError(
                f"{existing} customers already exist. seed_demo fills an empty database: "
                "run `manage.py flush` first, or pass --if-empty to skip."
            )
        if customers < 1:
            raise CommandError("--customers must be at least 1.")
        today = today or timezone.localdate()
        report = seed_demo(customers=customers, seed=seed, today=today, progress=options["verbosity"] > 0)
        self.print_report(report, seed, today)

    def print_report(self, report, seed, today) -> None:
        self.stdout.write(self.style.SUCCESS(f"Seeded demo data (seed {seed}, history up to {today}):"))
        for label, count in sorted(report.counts.items()):
            self.stdout.write(f"  {label:<28} {count:>10,}")
        self.stdout.write("Customer kinds (an example account of each):")
        for kind, count in report.kinds.most_common():
            self.stdout.write(f"  {kind:<22} {count:>7,}  e.g. {report.examples[kind]}")
        users = ", ".join(username for username, *_ in DEMO_USERS)
        self.stdout.write(f"Demo users: {users}; password {DEMO_PASSWORD}")
