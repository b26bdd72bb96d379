"""`manage.py seed_demo`: repeatable demo data whose customers behave as their kind says."""

import datetime as dt
import hashlib
import io
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection
from django.db.models import Count, F, Q, Sum

from agreements.models import Agreement, Instalment
from calls.models import Complaint, Excuse, Interaction, Task
from creditdesk.demo.kinds import Kind, kind_of
from creditdesk.demo.writer import DEMO_PASSWORD, DEMO_USERS
from customers.access import Role, role_of
from customers.models import Contact, Customer, Segment
from dunning.models import Policy, Reminder, ReminderInvoice
from invoices.models import Allocation, Invoice, Payment
from invoices.selectors import with_balances
from tests.factories import TODAY, PolicyFactory, StepFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = 60
SEED = 7


def seed(customers=CUSTOMERS, seed_value=SEED, *extra) -> str:
    out = io.StringIO()
    call_command(
        "seed_demo", f"--customers={customers}", f"--seed={seed_value}", f"--today={TODAY}", *extra,
        verbosity=0, stdout=out,
    )  # fmt: skip
    return out.getvalue()


def wipe_ledger() -> None:
    """Delete every customer and what hangs off it, children first (invoices and payments are protected)."""
    Allocation.objects.all().delete()
    Payment.objects.all().delete()
    Agreement.objects.all().delete()
    Reminder.objects.all().delete()
    Invoice.objects.all().delete()
    Customer.objects.all().delete()


def digest() -> str:
    """A fingerprint of the demo ledger by natural keys (not ids, which differ between runs)."""
    tables = [
        Customer.objects.order_by("account_number").values_list(
            "account_number", "name", "segment__name", "currency", "collector__username", "credit_limit",
            "credit_hold", "prepayment_only", "dunning_paused_until", "city",
        ),
        Contact.objects.order_by("customer__account_number", "name", "email").values_list(
            "customer__account_number", "name", "email", "is_primary", "verified_at"
        ),
        Invoice.objects.order_by("number").values_list(
            "number", "issue_date", "due_date", "amount", "status"
        ),
        Payment.objects.order_by("reference").values_list("reference", "received_on", "amount"),
        Allocation.objects.order_by("payment__reference", "invoice__number").values_list(
            "payment__reference", "invoice__number", "amount"
        ),
        Agreement.objects.order_by("customer__account_number", "made_on", "kind", "total_amount").values_list(
            "customer__account_number", "kind", "state", "made_on", "closed_on", "total_amount"
        ),
        Interaction.objects.order_by("customer__account_number", "occurred_at", "outcome", "minutes_spent")
        .values_list("customer__account_number", "occurred_at", "outcome", "minutes_spent", "notes"),
        Excuse.objects.order_by("customer__account_number", "given_on", "category").values_list(
            "customer__account_number", "given_on", "category"
        ),
        Complaint.objects.order_by("customer__account_number", "opened_on", "category").values_list(
            "customer__account_number", "opened_on", "resolved_on", "outcome"
        ),
        Task.objects.order_by("customer__account_number", "due_on", "reason").values_list(
            "customer__account_number", "kind", "due_on", "status", "reason"
        ),
    ]  # fmt: skip
    fingerprint = hashlib.sha256()
    for rows in tables:
        for row in rows:
            fingerprint.update(repr(row).encode())
    return fingerprint.hexdigest()


# The whole ledger for seed 7, 60 customers, TODAY and the "Standard" policy, as the row-by-row
# generator of the first version wrote it. The fast writer (COPY, rows as tuples) must write exactly
# this; a deliberate change to the generated data updates it (and says so in its commit).
LEDGER_DIGEST = "e2a6e4d9b7f9e63377792a136429e73e57e5163b5d25be654373527f9ab58f14"


def plain(value) -> str:
    """One value as text the same on SQLite and PostgreSQL (time zones and driver types differ)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value)


def full_digest() -> str:
    """Every generated column of every seeded table, by natural keys, ids and creation times left out."""
    account = "customer__account_number"
    tables = [
        Customer.objects.order_by("account_number").values_list(
            "account_number", "name", "segment__name", "currency", "payment_terms_days", "credit_limit",
            "preferred_channel", "collector__username", "credit_hold", "prepayment_only",
            "dunning_paused_until", "email", "phone", "address_line", "postal_code", "city", "country",
        ),
        Contact.objects.order_by(account, "email", "name").values_list(
            account, "name", "role", "email", "phone", "is_primary", "verified_at"
        ),
        Invoice.objects.order_by("number").values_list(
            "number", account, "issue_date", "due_date", "amount", "currency", "allocated_amount", "status",
            "description",
        ),
        Payment.objects.order_by("reference").values_list(
            "reference", account, "received_on", "amount", "currency", "allocated_amount"
        ),
        Allocation.objects.order_by("payment__reference", "invoice__number").values_list(
            "payment__reference", "invoice__number", "amount"
        ),
        Agreement.objects.order_by(account, "made_on", "kind", "total_amount", "closed_on").values_list(
            account, "kind", "state", "currency", "total_amount", "made_on", "made_by__username",
            "grace_days", "closed_on", "notes",
        ),
        Agreement.invoices.through.objects.order_by(
            "agreement__customer__account_number", "agreement__made_on", "agreement__kind", "invoice__number"
        ).values_list("agreement__made_on", "agreement__kind", "invoice__number"),
        Instalment.objects.order_by(
            "agreement__customer__account_number", "agreement__made_on", "agreement__kind", "due_date",
            "sequence",
        ).values_list(
            "agreement__customer__account_number", "agreement__made_on", "sequence", "due_date", "amount",
            "state", "settled_on",
        ),
        Interaction.objects.order_by(account, "occurred_at", "outcome", "minutes_spent", "notes").values_list(
            account, "contact__email", "user__username", "occurred_at", "channel", "direction", "outcome",
            "minutes_spent", "notes", "next_action_on", "agreement__made_on", "agreement__kind",
        ),
        Excuse.objects.order_by(account, "given_on", "category", "words").values_list(
            account, "interaction__occurred_at", "category", "words", "given_on"
        ),
        Excuse.invoices.through.objects.order_by(
            "excuse__customer__account_number", "excuse__given_on", "excuse__category", "invoice__number"
        ).values_list("excuse__given_on", "excuse__category", "invoice__number"),
        Complaint.objects.order_by(account, "opened_on", "category").values_list(
            account, "interaction__occurred_at", "category", "description", "opened_on", "resolved_on",
            "outcome", "resolved_by__username",
        ),
        Complaint.invoices.through.objects.order_by(
            "complaint__customer__account_number", "complaint__opened_on", "invoice__number"
        ).values_list("complaint__opened_on", "complaint__category", "invoice__number"),
        Task.objects.order_by(account, "due_on", "kind", "reason").values_list(
            account, "assigned_to__username", "kind", "reason", "due_on", "status", "done_at", "dedupe_key"
        ),
        Reminder.objects.order_by(account, "run_on", "step__offset_days").values_list(
            account, "step__offset_days", "run_on", "channel", "tone", "subject", "body", "status",
            "attempts", "last_error", "sent_at", "letter_pdf", "claimed_at", "created_by_run",
        ),
        ReminderInvoice.objects.order_by(
            "reminder__customer__account_number", "reminder__run_on", "reminder__step__offset_days",
            "invoice__number",
        ).values_list("reminder__run_on", "reminder__step__offset_days", "invoice__number", "open_amount"),
    ]  # fmt: skip
    fingerprint = hashlib.sha256()
    for rows in tables:
        for row in sorted(tuple(plain(value) for value in row) for row in rows):  # ties ordered too
            fingerprint.update(repr(row).encode())
    return fingerprint.hexdigest()


def customers_by_kind(seed_value=SEED) -> dict[Kind, list[int]]:
    kinds = defaultdict(list)
    for pk, account_number in Customer.objects.values_list("pk", "account_number"):
        kinds[kind_of(seed_value, int(account_number) - 100001)].append(pk)
    return kinds


def average_days_late(customer_ids) -> float:
    """Average days from due date to payment, over every allocation (weighted per allocation)."""
    pairs = Allocation.objects.filter(invoice__customer__in=customer_ids).values_list(
        "payment__received_on", "invoice__due_date"
    )
    days = [(received - due).days for received, due in pairs]
    return sum(days) / len(days)


def test_same_seed_and_day_give_identical_data():
    seed()
    first = digest()
    wipe_ledger()
    seed()
    assert digest() == first
    assert Invoice.objects.count() > CUSTOMERS * 20


def test_the_ledger_for_a_seed_is_the_same_row_for_row_as_the_first_generator_wrote():
    seed()
    assert full_digest() == LEDGER_DIGEST
    assert Reminder.objects.exclude(body="").exists() and Reminder.objects.filter(body="").exists()
    assert Agreement.invoices.through.objects.exists() and Excuse.invoices.through.objects.exists()


def foreign_keys() -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f'"
        )
        return set(cursor.fetchall())


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the foreign keys are set aside on PostgreSQL only"
)
def test_a_seed_puts_back_every_foreign_key_it_set_aside_and_they_check_new_rows():
    before = foreign_keys()
    seed(customers=20)
    assert foreign_keys() == before
    assert any(table == "invoices_allocation" for table, _, _ in before)
    invoice = Invoice.objects.first()
    Allocation.objects.create(payment_id=10**9, invoice=invoice, amount=Decimal("1.00"))
    with pytest.raises(IntegrityError):
        connection.check_constraints()


def test_a_different_seed_gives_different_data():
    seed()
    first = digest()
    wipe_ledger()
    seed(seed_value=SEED + 1)
    assert digest() != first


def test_every_kind_of_customer_is_present_and_behaves_as_named():
    seed()
    kinds = customers_by_kind()
    assert set(kinds) == set(Kind)
    lateness = {kind: average_days_late(ids) for kind, ids in kinds.items()}
    assert lateness[Kind.PUNCTUAL] <= 2
    assert 5 <= lateness[Kind.SLOW] <= 30
    assert lateness[Kind.CHRONIC_LATE] > 40 and lateness[Kind.CHRONIC_LATE] > lateness[Kind.SLOW]
    for customer_id in kinds[Kind.PUNCTUAL]:
        assert not Agreement.objects.filter(customer=customer_id, state="broken").exists()
    for customer_id in kinds[Kind.PROMISE_BREAKER]:
        assert Agreement.objects.filter(customer=customer_id, state="broken").count() >= 2
    for customer_id in kinds[Kind.EXCUSE_MAKER]:
        categories = Counter(Excuse.objects.filter(customer=customer_id).values_list("category", flat=True))
        assert sum(categories.values()) >= 3 and categories.most_common(1)[0][1] >= 2  # the same excuse again
    for customer_id in kinds[Kind.DISPUTER]:
        complaints = Complaint.objects.filter(customer=customer_id)
        assert complaints.count() >= 3
        assert complaints.filter(resolved_on__isnull=True).exists()
        assert Invoice.objects.filter(customer=customer_id, status="disputed").exists()


def test_kinds_can_be_told_apart_from_behaviour_alone():
    seed()
    kinds = customers_by_kind()
    breakers = set(
        Agreement.objects.filter(state="broken").values("customer").annotate(n=Count("id")).filter(n__gte=4)
        .values_list("customer", flat=True)
    )  # fmt: skip
    disputers = set(
        Complaint.objects.values("customer")
        .annotate(n=Count("id"))
        .filter(n__gte=3)
        .values_list("customer", flat=True)
    )
    # Most customers with many broken promises are promise breakers, most with many complaints disputers.
    assert len(breakers & set(kinds[Kind.PROMISE_BREAKER])) > len(breakers) / 2
    assert set(kinds[Kind.DISPUTER]) <= disputers


def test_a_tenth_of_customers_take_about_half_the_effort():
    seed(customers=100)
    minutes = sorted(
        (
            m or 0
            for m in Customer.objects.annotate(m=Sum("interactions__minutes_spent")).values_list(
                "m", flat=True
            )
        ),
        reverse=True,
    )
    share = sum(minutes[:10]) / sum(minutes)
    assert 0.35 <= share <= 0.65


def test_seeded_ledger_keeps_allocations_and_statuses_consistent():
    seed()
    for invoice in with_balances():
        assert invoice.allocated_amount == invoice.paid, invoice.number
        assert 0 <= invoice.paid <= invoice.amount, invoice.number
        if invoice.status in ("open", "paid"):
            assert invoice.status == invoice.balance_status, invoice.number
        else:  # disputed, cancelled, written off: decided by a person, and nothing was paid on them here
            assert invoice.paid == 0, invoice.number
    payments = Payment.objects.annotate(allocated=Sum("allocations__amount"))
    for payment in payments:
        assert payment.allocated_amount == payment.allocated == payment.amount, payment.reference
        assert payment.received_on <= TODAY
    mixed = Allocation.objects.exclude(payment__currency=F("invoice__currency"))
    assert not mixed.exists()
    assert not Allocation.objects.exclude(payment__customer=F("invoice__customer")).exists()
    statuses = set(Invoice.objects.values_list("status", flat=True))
    assert {"open", "paid", "disputed", "cancelled"} <= statuses
    # Partly paid invoices exist: a payment covers only part of them.
    assert with_balances().filter(status="open", paid__gt=0).exists()


def test_agreements_are_kept_broken_or_active_as_their_instalments_say():
    seed()
    assert set(Agreement.objects.values_list("kind", "state")) >= {
        ("promise", "kept"), ("promise", "broken"), ("promise", "active"),
        ("plan", "kept"), ("plan", "broken"),
    }  # fmt: skip
    for agreement in Agreement.objects.prefetch_related("instalments", "invoices"):
        states = [instalment.state for instalment in agreement.instalments.all()]
        assert agreement.invoices.exists()
        assert sum(i.amount for i in agreement.instalments.all()) == agreement.total_amount
        if agreement.state == "kept":
            assert set(states) == {"paid"}
        elif agreement.state == "broken":
            assert "missed" in states and agreement.closed_on <= TODAY
        else:
            assert "missed" not in states and "pending" in states
    assert Interaction.objects.filter(agreement__isnull=False).count() == Agreement.objects.count()
    plan_instalments = (
        Instalment.objects.filter(agreement__kind="plan").values("agreement").annotate(n=Count("id"))
    )
    assert all(row["n"] >= 3 for row in plan_instalments)


def test_history_covers_eighteen_months_up_to_the_given_day():
    seed()
    assert not Invoice.objects.filter(issue_date__gte=TODAY).exists()
    assert not Invoice.objects.filter(issue_date__lt=TODAY.replace(year=TODAY.year - 2)).exists()
    assert Invoice.objects.filter(issue_date__lt=TODAY.replace(year=TODAY.year - 1)).exists()
    assert not Interaction.objects.filter(occurred_at__date__gt=TODAY).exists()
    assert Invoice.objects.filter(due_date__gt=TODAY).exists()  # some are not due yet
    assert not Complaint.objects.filter(resolved_on__gt=TODAY).exists()


def test_customers_span_segments_currencies_and_both_portfolios():
    seed()
    segments = dict(Segment.objects.values_list("name", "lateness_threshold_days"))
    assert set(segments) >= {"Key accounts", "SME", "Public sector", "Retail"}
    assert len(set(segments.values())) > 1
    currencies = Counter(Customer.objects.values_list("currency", flat=True))
    assert currencies.most_common(1)[0][0] == "EUR" and {"USD", "GBP"} <= set(currencies)
    portfolios = Counter(Customer.objects.values_list("collector__username", flat=True))
    assert portfolios["collector"] > CUSTOMERS / 3 and portfolios["collector2"] > CUSTOMERS / 3
    assert Contact.objects.filter(verified_at__date__lt=TODAY.replace(year=TODAY.year - 1)).exists()
    assert Task.objects.filter(status="open", assigned_to__username__in=["collector", "collector2"]).exists()
    assert Excuse.objects.values("category").distinct().count() >= 5
    assert (
        Complaint.objects.filter(outcome="upheld").exists()
        and Complaint.objects.filter(outcome="rejected").exists()
    )


def test_demo_users_have_their_roles_and_sign_in_with_the_readme_password(client):
    seed(customers=20)
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    assert DEMO_PASSWORD in readme
    expected = {
        "manager": Role.CREDIT_MANAGER, "collector": Role.COLLECTOR, "collector2": Role.COLLECTOR,
        "finance": Role.FINANCE_LEAD, "integrator": Role.INTEGRATOR, "admin": Role.CREDIT_MANAGER,
    }  # fmt: skip
    assert {username for username, *_ in DEMO_USERS} == set(expected)
    for username, role in expected.items():
        assert re.search(rf"\| `{username}` \|", readme), f"README does not list {username}"
        client.logout()
        page = client.post("/login/", {"username": username, "password": DEMO_PASSWORD}, follow=True)
        assert page.status_code == 200 and page.context["user"].username == username
        assert role.label in page.content.decode()
        assert role_of(page.context["user"]) == role
    client.logout()
    client.post("/login/", {"username": "admin", "password": DEMO_PASSWORD})
    assert client.get("/admin/").status_code == 200


def test_if_empty_does_nothing_on_a_second_run():
    seed(customers=20)
    counts = (Customer.objects.count(), Invoice.objects.count(), Interaction.objects.count())
    output = seed(20, SEED + 5, "--if-empty")
    assert "not seeding" in output
    assert (Customer.objects.count(), Invoice.objects.count(), Interaction.objects.count()) == counts


def test_seeding_a_database_that_has_customers_is_refused_with_a_clear_message():
    seed(customers=20)
    with pytest.raises(CommandError, match="customers already exist"):
        seed(customers=20)


def test_reminders_follow_the_default_policy_steps():
    Policy.objects.all().delete()  # the dunning data migration's "Standard"; this test sets its own steps
    policy = PolicyFactory(name="Standard", is_default=True)
    for offset, channel in ((-3, "email"), (3, "email"), (7, "letter"), (30, "call_task")):
        StepFactory(policy=policy, offset_days=offset, channel=channel)
    seed(customers=30)
    assert Reminder.objects.exists()
    assert set(Reminder.objects.values_list("step__offset_days", flat=True)) == {-3, 3, 7, 30}
    assert not Reminder.objects.filter(run_on__gte=TODAY).exists()
    assert not Reminder.objects.exclude(status="sent").exists()
    lines = ReminderInvoice.objects.select_related("reminder__step", "invoice")
    for line in lines:
        reminder, invoice = line.reminder, line.invoice
        assert reminder.run_on == invoice.due_date + dt.timedelta(days=reminder.step.offset_days)
        paid_then = Allocation.objects.filter(
            invoice=invoice, payment__received_on__lte=reminder.run_on
        ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
        assert line.open_amount == invoice.amount - paid_then > 0
    # One reminder per customer, step and day (the database constraint), each listing its invoices.
    assert not Reminder.objects.annotate(n=Count("lines")).filter(n=0).exists()
    assert not Reminder.objects.filter(~Q(customer=F("lines__invoice__customer"))).exists()


def test_without_a_policy_no_reminders_are_invented():
    Policy.objects.all().delete()  # the dunning data migration creates "Standard"
    seed(customers=20)
    assert not Reminder.objects.exists()


def test_recent_reminders_carry_the_words_the_dunning_run_would_send():
    seed(customers=30)  # with the "Standard" policy of the dunning data migration
    recent = Reminder.objects.filter(run_on__gte=TODAY - dt.timedelta(days=60)).select_related("step")
    assert recent.exists()
    for reminder in recent.prefetch_related("lines__invoice"):
        assert reminder.subject and reminder.body.startswith("Dear ")
        if "invoice_table" in reminder.step.body_template:
            for line in reminder.lines.all():
                assert line.invoice.number in reminder.body
