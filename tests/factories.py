"""factory-boy factories for every model, shared by all tests."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed
from django.utils import timezone
from faker import Faker

from agreements.models import Agreement, Instalment
from calls.models import Complaint, Excuse, Interaction, Task
from creditdesk.roles import sync_roles
from customers.access import Role
from customers.models import Contact, Customer, Segment
from customers.signals import announce_change
from dunning.models import Policy, Reminder, Step
from invoices.models import Invoice, Payment

TODAY = dt.date(2026, 11, 23)
# Faker's public `unique` proxy (factory.Faker has no unique option): it never gives a value twice.
UNIQUE = Faker().unique


class LedgerFactory(factory.django.DjangoModelFactory):
    """A factory for a row that customers' precomputed figures depend on.

    Factories write rows directly, bypassing the services that announce the change; this announces it
    the same way (customers.signals), so the worklist standing and other precomputed figures stay
    what the services would have made them.
    """

    class Meta:
        abstract = True

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        super()._after_postgeneration(instance, create, results)
        if create:
            fact, customer_id_of, earliest_day_of = LEDGER_FACTS[type(instance)]
            announce_change(
                customer_ids={customer_id_of(instance)}, facts={fact}, earliest_day=earliest_day_of(instance)
            )


def no_day(instance) -> None:
    return None


# What each factory-made row announces: the fact it changes, whose customer it is and the earliest
# ledger day it moves (as the services say it: reports keep their past days before it).
LEDGER_FACTS = {
    Customer: ("customer", lambda customer: customer.pk, no_day),
    Invoice: ("invoices", lambda invoice: invoice.customer_id, lambda invoice: invoice.issue_date),
    Agreement: ("agreements", lambda agreement: agreement.customer_id, no_day),
    Instalment: ("agreements", lambda instalment: instalment.agreement.customer_id, no_day),
    Interaction: (
        "contacts",
        lambda interaction: interaction.customer_id,
        lambda interaction: timezone.localdate(interaction.occurred_at),
    ),
    Complaint: ("complaints", lambda complaint: complaint.customer_id, no_day),
    Task: ("tasks", lambda task: task.customer_id, no_day),
}


def announce_linked_invoices(sender, instance, action, reverse, **kwargs) -> None:
    """A test that links invoices to a factory-made complaint or agreement (`complaint.invoices.add`)
    announces it as the services do after `invoices.set`: which invoices are disputed or in an
    agreement moves the forecast's kept spreads, for one."""
    if action in ("post_add", "post_remove", "post_clear") and not reverse:
        fact = "complaints" if isinstance(instance, Complaint) else "agreements"
        announce_change(customer_ids={instance.customer_id}, facts={fact})


for linked in (Complaint.invoices.through, Agreement.invoices.through):
    m2m_changed.connect(announce_linked_invoices, sender=linked, dispatch_uid=f"tests.{linked.__name__}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    password = factory.django.Password("pass-word-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            label = Role(extracted).label
            if not Group.objects.filter(name=label).exists():
                sync_roles()  # a transactional test flushed the groups the migration made
            self.groups.add(Group.objects.get(name=label))


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Segment {n}")


class CustomerFactory(LedgerFactory):
    class Meta:
        model = Customer

    account_number = factory.Sequence(lambda n: f"C{n:06d}")
    # Unique: tests tell customers apart by the name a page shows, and Faker repeats "Smith PLC".
    name = factory.LazyFunction(lambda: UNIQUE.company())
    segment = factory.SubFactory(SegmentFactory)
    currency = "EUR"
    payment_terms_days = 30
    credit_limit = Decimal("10000.00")
    email = factory.LazyAttribute(lambda c: f"ap@{c.account_number.lower()}.example")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Faker("name")
    role = "Accounts payable"
    email = factory.Faker("email")
    phone = "+31 20 123 4567"
    is_primary = True


class InvoiceFactory(LedgerFactory):
    class Meta:
        model = Invoice

    number = factory.Sequence(lambda n: f"INV-{n:07d}")
    customer = factory.SubFactory(CustomerFactory)
    issue_date = factory.LazyAttribute(lambda i: i.due_date - dt.timedelta(days=30))
    due_date = TODAY
    amount = Decimal("1000.00")
    currency = factory.LazyAttribute(lambda i: i.customer.currency)


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    customer = factory.SubFactory(CustomerFactory)
    reference = factory.Sequence(lambda n: f"PAY-{n:07d}")
    received_on = TODAY
    amount = Decimal("1000.00")
    currency = factory.LazyAttribute(lambda p: p.customer.currency)


class AgreementFactory(LedgerFactory):
    class Meta:
        model = Agreement

    customer = factory.SubFactory(CustomerFactory)
    kind = "promise"
    currency = factory.LazyAttribute(lambda a: a.customer.currency)
    total_amount = Decimal("1000.00")
    made_on = TODAY


class InstalmentFactory(LedgerFactory):
    class Meta:
        model = Instalment

    agreement = factory.SubFactory(AgreementFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    due_date = TODAY + dt.timedelta(days=7)
    amount = Decimal("1000.00")


class InteractionFactory(LedgerFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    occurred_at = factory.LazyFunction(timezone.now)
    channel = "phone"
    outcome = "reached"
    minutes_spent = 5


class ExcuseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Excuse

    customer = factory.SubFactory(CustomerFactory)
    category = "invoice_not_received"
    words = "We never got that invoice."
    given_on = TODAY


class ComplaintFactory(LedgerFactory):
    class Meta:
        model = Complaint

    customer = factory.SubFactory(CustomerFactory)
    category = "quality"
    description = "Goods arrived damaged."
    opened_on = TODAY


class TaskFactory(LedgerFactory):
    class Meta:
        model = Task

    customer = factory.SubFactory(CustomerFactory)
    kind = "call"
    reason = "Call about overdue invoices"
    due_on = TODAY


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    name = factory.Sequence(lambda n: f"Policy {n}")


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Step

    policy = factory.SubFactory(PolicyFactory)
    offset_days = 3
    channel = "email"
    tone = "polite"
    subject_template = "Reminder: {{ invoices|length }} invoice(s) overdue"
    body_template = "Dear {{ contact_name }}, please pay."


class ReminderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reminder

    customer = factory.SubFactory(CustomerFactory)
    step = factory.SubFactory(StepFactory)
    run_on = TODAY
    channel = factory.LazyAttribute(lambda r: r.step.channel)
    tone = factory.LazyAttribute(lambda r: r.step.tone)


# --- dunning (added by the dunning engine work) ---


class ProposalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dunning.Proposal"

    customer = factory.SubFactory(CustomerFactory)
    kind = "prepayment_only"
    reason = "Once bitten, twice shy: broke 2 agreements in the last twelve months."
    proposed_on = TODAY
