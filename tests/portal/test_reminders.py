"""Every reminder carries the personal link: email body, SMS (tests/dunning), letter (URL and QR code)."""

import datetime as dt
import io
import re

import pytest
from django.core import mail
from pypdf import PdfReader

from customers.selectors import portal_link
from dunning.delivery import deliver, render_letter_pdf
from dunning.models import Reminder, Step
from dunning.services import ensure_standard_policy, run_dunning_batch
from tests.factories import TODAY, InvoiceFactory

pytestmark = pytest.mark.django_db


def test_the_reminder_email_links_to_the_customers_own_page(client, customer):
    ensure_standard_policy()
    InvoiceFactory(customer=customer, number="R-1", due_date=TODAY - dt.timedelta(days=3))
    [reminder_id] = run_dunning_batch(customer_ids=[customer.pk], today=TODAY).created_reminder_ids
    deliver(reminder_id)
    [message] = mail.outbox
    link = re.search(r"http://testserver(/p/([\w-]+)/)", message.body)
    assert portal_link(link.group(2)).customer == customer
    assert (
        link.group(2) not in Reminder.objects.get(pk=reminder_id).body
    )  # the token lives in the message only
    page = client.get(link.group(1))
    assert page.status_code == 200 and b"R-1" in page.content


def test_the_letter_prints_the_link_and_its_qr_code(customer):
    policy = ensure_standard_policy()
    InvoiceFactory(customer=customer, number="R-2", due_date=TODAY - dt.timedelta(days=30))
    [reminder_id] = run_dunning_batch(customer_ids=[customer.pk], today=TODAY).created_reminder_ids
    reminder = Reminder.objects.get(pk=reminder_id)
    assert reminder.step == Step.objects.get(policy=policy, offset_days=30) and reminder.channel == "letter"
    pdf = render_letter_pdf(reminder)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")
    token = re.search(r"http://testserver/p/([\w-]+)/", text).group(1)
    assert portal_link(token).customer == customer
    drawn = b"".join(page.get_contents().get_data() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert drawn.count(b" l\n") > 100  # the QR code: its modules drawn as vector paths (an inline SVG)
