"""Step templates see plain values only, name nothing outside the documented set, stay plain text."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core import mail
from pypdf import PdfReader
from rest_framework.authtoken.models import Token

from customers.models import Contact, Customer
from dunning.admin import StepForm
from dunning.defaults import STANDARD_STEPS
from dunning.delivery import deliver
from dunning.models import Reminder, Step
from dunning.rendering import InvoiceLine
from dunning.services import compose, run_dunning_batch
from tests.factories import CustomerFactory, InvoiceFactory, UserFactory

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 11, 23)

PROBES = [
    ("{{ customer.collector.password }}", "customer.collector"),
    ("{{ customer.collector.auth_token.key }}", "customer.collector"),
    ("{% for other in customer.segment.customers.all %}{{ other.email }}{% endfor %}", "customer.segment"),
    ("{% for invoice in invoices %}{{ invoice.customer.credit_limit }}{% endfor %}", "invoice.customer"),
    ("{{ step.policy.steps.all }}", "step.policy"),
    ("{{ contact.customer.name }}", "contact.customer"),
    ("{{ settings }}", "settings"),
    ("{{ today.year }}", "today.year"),
]


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def step_form(policy, **templates) -> StepForm:
    data = {
        "policy": policy.pk,
        "offset_days": 60,
        "channel": "email",
        "tone": "final",
        "action": "",
        "subject_template": "Overdue: {{ totals_text }}",
        "body_template": "Dear {{ contact_name }},",
    }
    return StepForm(data={**data, **templates})


@pytest.mark.parametrize(("source", "named"), PROBES)
def test_a_step_template_reaching_past_the_documented_variables_is_refused_when_saved(
    standard_policy, source, named
):
    form = step_form(standard_policy, body_template=f"Dear {{{{ contact_name }}}}, {source}")
    assert not form.is_valid()
    assert list(form.errors) == ["body_template"]
    assert f'Unknown variable "{named}"' in form.errors["body_template"][0]


def test_unknown_tags_and_filters_are_refused_with_what_can_be_used(standard_policy):
    form = step_form(
        standard_policy,
        subject_template="{% load humanize %}{{ sender }}",
        body_template="{{ sender|pprint }}",
    )
    assert not form.is_valid()
    assert (
        "'load'" in form.errors["subject_template"][0]
        and "Tags you can use: if, for" in (form.errors["subject_template"][0])
    )
    assert (
        "'pprint'" in form.errors["body_template"][0]
        and "Filters you can use:" in (form.errors["body_template"][0])
    )


def test_the_documented_variables_loops_and_filters_are_accepted(standard_policy):
    body = (
        "{{ customer.name }} ({{ customer.account_number }}), {{ contact.name|default:contact_name }}\n"
        "{% for invoice in invoices %}{{ forloop.counter }}. {{ invoice.number }}"
        " {{ invoice.due_date|date:'Y-m-d' }}"
        " {{ invoice.open_amount|floatformat:2 }} {{ invoice.currency }}{% empty %}none{% endfor %}\n"
        "{% with oldest=invoices|first %}{{ oldest.days_overdue }}{% endwith %}"
        "{% for total in totals %}{{ total.currency }} {{ total.open_amount|intcomma }}{% endfor %}"
        "{% if days_overdue > 30 and step.tone == 'final' %}{{ today|date:'j F Y' }}{% endif %}"
        "{{ invoices.0.number }} {{ invoice_table }} {{ totals_text }} {{ sender }} {{ step.offset_days }}"
    )
    assert step_form(standard_policy, body_template=body).is_valid()


def test_the_standard_templates_still_validate():
    from dunning.rendering import template_problems

    for spec in STANDARD_STEPS:
        assert template_problems(spec["subject_template"]) == []
        assert template_problems(spec["body_template"]) == []


def test_a_template_saved_before_the_check_prints_no_secret(standard_policy):
    """Even a template stored without the check (an old row, a raw update) sees plain values only."""
    collector = UserFactory(username="kim.collector")
    token = Token.objects.create(user=collector)
    customer = CustomerFactory(collector=collector)
    other = CustomerFactory(name="Someone Else BV", segment=customer.segment)
    Step.objects.filter(policy=standard_policy, offset_days=3).update(
        body_template=(
            "[{{ customer.collector.password }}][{{ customer.collector.username }}]"
            "[{{ customer.collector.auth_token.key }}]"
            "[{% for c in customer.segment.customers.all %}{{ c.name }}{% endfor %}]"
        )
    )
    InvoiceFactory(customer=customer, due_date=DUE)
    result = run_dunning_batch(customer_ids=[customer.pk], today=DUE + dt.timedelta(days=3))
    body = Reminder.objects.get(pk=result.created_reminder_ids[0]).body
    assert body == "[][][][]"
    assert collector.password not in body and token.key not in body and other.name not in body


def test_the_context_holds_plain_values_only():
    from dunning.rendering import TEMPLATE_VARIABLES, reminder_context

    customer = Customer(name="Bolt BV", account_number="A-1")
    step = Step(**STANDARD_STEPS[1])
    context = reminder_context(
        customer=customer, contact=Contact(name="Ada"), lines=[], step=step, run_on=DUE, sender="Us"
    )
    assert set(context) == set(TEMPLATE_VARIABLES)
    plain = (str, int, Decimal, dt.date, list, type(None))
    for name, value in context.items():
        assert isinstance(value, plain) or type(value).__module__ == "dunning.rendering", name


def words_of_standard_steps(customer_name: str, contact_name: str) -> list[tuple[str, str]]:
    customer = Customer(name=customer_name, account_number="A-1001")
    lines = [
        InvoiceLine(
            invoice_id=1,
            number="INV-1",
            issue_date=dt.date(2026, 10, 1),
            due_date=dt.date(2026, 10, 31),
            currency="EUR",
            amount=Decimal("1500.00"),
            open_amount=Decimal("1234.50"),
            days_overdue=31,
        ),
        InvoiceLine(
            invoice_id=2,
            number="INV-22",
            issue_date=dt.date(2026, 11, 1),
            due_date=dt.date(2026, 12, 4),
            currency="USD",
            amount=Decimal("99.99"),
            open_amount=Decimal("99.99"),
            days_overdue=-3,
        ),
    ]
    return [
        (words.subject, words.body)
        for words in (
            compose(
                customer,
                contact=Contact(name=contact_name),
                step=Step(**spec),
                lines=lines,
                today=dt.date(2026, 12, 1),
            )
            for spec in STANDARD_STEPS
        )
    ]


def test_standard_templates_render_the_same_plain_text_without_html_escapes(settings):
    settings.DUNNING_SENDER = "Credit department, CreditDesk"
    words = words_of_standard_steps("Bolt & Sons <BV>", "Ada O'Neil")
    assert [subject for subject, _ in words] == [
        "Coming up: 2 invoice(s) due soon, EUR 1,234.50, USD 99.99",
        "Payment reminder: 2 invoice(s) overdue, EUR 1,234.50, USD 99.99",
        "Second reminder: EUR 1,234.50, USD 99.99 overdue",
        "Final notice: EUR 1,234.50, USD 99.99 overdue",
    ]
    assert words[1][1] == (
        "Dear Ada O'Neil,\n"
        "\n"
        "According to our records the invoice(s) below are now past their due date.\n"
        "\n"
        "Invoice  Issued      Due         Days late            Open\n"
        "INV-1    2026-10-01  2026-10-31  31           EUR 1,234.50\n"
        "INV-22   2026-11-01  2026-12-04  not yet due     USD 99.99\n"
        "\n"
        "Total outstanding: EUR 1,234.50, USD 99.99\n"
        "\n"
        "Could you please arrange payment, or let us know if something is holding it up?\n"
        "If you have paid in the last few days, thank you, and please disregard this reminder.\n"
        "\n"
        "Kind regards,\n"
        "Credit department, CreditDesk"
    )
    for _, body in words:
        assert body.startswith("Dear Ada O'Neil,\n") and "&#x27;" not in body and "&amp;" not in body


def test_email_and_letter_show_a_name_with_an_ampersand_as_written(standard_policy):
    customer = CustomerFactory(name="Smith & Sons <Holding>", email="ap@smith.example")
    InvoiceFactory(customer=customer, due_date=DUE, amount=Decimal("10.00"))
    email = run_dunning_batch(customer_ids=[customer.pk], today=DUE + dt.timedelta(days=3))
    deliver(email.created_reminder_ids[0])
    assert mail.outbox[0].body.startswith("Dear Smith & Sons <Holding>,")
    letter = run_dunning_batch(customer_ids=[customer.pk], today=DUE + dt.timedelta(days=30))
    deliver(letter.created_reminder_ids[0])
    reminder = Reminder.objects.get(pk=letter.created_reminder_ids[0])
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(reminder.letter_pdf.read())).pages)
    assert "Dear Smith & Sons <Holding>," in text and "&amp;" not in text and "&lt;" not in text
