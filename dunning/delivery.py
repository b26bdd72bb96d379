"""Delivering a reminder, apart from creating it (an outbox): email, PDF letter, call task, SMS.

`deliver` claims the reminder with a conditional update (pending -> sending), so two workers handed
the same reminder cannot both send it, and a reminder once sent is never sent again. A failure puts
it back to pending for the next try, or marks it failed on the last one.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string

from calls.choices import TaskKind
from calls.services import create_task
from customers.access import SYSTEM
from customers.services import mint_portal_link

from .choices import DeliveryStatus, StepAction, StepChannel
from .models import Reminder
from .rendering import InvoiceLine, customer_facts, money, totals_by_currency

logger = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """The channel could not deliver; the message says why, in words for the reminder list."""


@dataclass(frozen=True)
class DeliveryOutcome:
    reminder_id: int
    status: str
    claimed: bool


def deliver(reminder_id: int, *, final_attempt: bool = True) -> DeliveryOutcome:
    """Deliver one reminder through its channel and carry out its step's action.

    Returns without doing anything when the reminder is not pending (sent, being sent, failed).
    Raises DeliveryFailed after recording the error, so the caller can retry.
    """
    claimed = Reminder.objects.filter(pk=reminder_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        status = Reminder.objects.filter(pk=reminder_id).values_list("status", flat=True).first()
        return DeliveryOutcome(reminder_id, status or "missing", claimed=False)
    reminder = Reminder.objects.select_related("customer", "step").get(pk=reminder_id)
    try:
        carry_out_action(reminder)
        CHANNELS[reminder.channel](reminder)
    except Exception as error:
        record_failure(reminder, error, final_attempt)
        raise DeliveryFailed(describe(error)) from error
    Reminder.objects.filter(pk=reminder_id, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="", claimed_at=None
    )
    return DeliveryOutcome(reminder_id, DeliveryStatus.SENT, claimed=True)


def record_failure(reminder: Reminder, error: Exception, final_attempt: bool) -> None:
    status = DeliveryStatus.FAILED if final_attempt else DeliveryStatus.PENDING
    logger.warning("Reminder %s: delivery failed (%s): %s", reminder.pk, status, describe(error))
    Reminder.objects.filter(pk=reminder.pk, status=DeliveryStatus.SENDING).update(
        status=status, last_error=describe(error)[:2000], claimed_at=None
    )


def describe(error: Exception) -> str:
    return str(error) or error.__class__.__name__


def reminder_lines(reminder: Reminder) -> list[InvoiceLine]:
    """The invoices as the reminder listed them, with the open amount of its day."""
    lines = reminder.lines.select_related("invoice").order_by("invoice__due_date", "invoice__number")
    return [
        InvoiceLine(
            invoice_id=line.invoice_id,
            number=line.invoice.number,
            issue_date=line.invoice.issue_date,
            due_date=line.invoice.due_date,
            currency=line.invoice.currency,
            amount=line.invoice.amount,
            open_amount=line.open_amount,
            days_overdue=(reminder.run_on - line.invoice.due_date).days,
        )
        for line in lines
    ]


# --- Channels ----------------------------------------------------------------------------------


def send_email(reminder: Reminder) -> None:
    recipient = email_address(reminder.customer)
    if not recipient:
        raise DeliveryFailed(f"{reminder.customer.name} has no email address (customer or primary contact).")
    message = EmailMessage(
        subject=reminder.subject,
        body=f"{reminder.body}\n\n{portal_invitation(reminder)}",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        # A stable Message-ID: should a crash make us send it twice, mail clients show it once.
        headers={"X-CreditDesk-Reminder": str(reminder.pk), "Message-ID": message_id(reminder)},
    )
    if reminder.letter_pdf:
        message.attach(f"reminder-{reminder.pk}.pdf", reminder.letter_pdf.read(), "application/pdf")
    message.send(fail_silently=False)


def message_id(reminder: Reminder) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "creditdesk.invalid"
    return f"<reminder-{reminder.pk}-{reminder.run_on:%Y%m%d}@{domain}>"


def email_address(customer) -> str:
    """The accounts-payable mailbox, else the primary contact's address."""
    if customer.email:
        return customer.email
    contact = customer.contacts.filter(is_primary=True).exclude(email="").first()
    return contact.email if contact else ""


def send_letter(reminder: Reminder) -> None:
    """Render the letter to PDF and store it; printing and posting happen from the stored file."""
    if not reminder.letter_pdf:
        store_letter_pdf(reminder)


def store_letter_pdf(reminder: Reminder) -> None:
    pdf = render_letter_pdf(reminder)
    reminder.letter_pdf.save(f"reminder-{reminder.pk}.pdf", ContentFile(pdf), save=False)
    Reminder.objects.filter(pk=reminder.pk).update(letter_pdf=reminder.letter_pdf.name)


def render_letter_pdf(reminder: Reminder) -> bytes:
    """The reminder as a printable A4 letter (WeasyPrint): address, body, invoice table, totals."""
    from weasyprint import HTML  # heavy import, only where letters are made

    lines = reminder_lines(reminder)
    portal_url = portal_address(reminder)
    # Plain values only, as for the step templates: the letter goes outside.
    html = render_to_string(
        "dunning/letter.html",
        {
            "reminder": {
                "pk": reminder.pk,
                "subject": reminder.subject,
                "body": reminder.body,
                "tone": reminder.tone,
                "run_on": reminder.run_on,
            },
            "customer": customer_facts(reminder.customer),
            "lines": [(line, money(line.open_amount, line.currency)) for line in lines],
            "totals": [money(total.open_amount, total.currency) for total in totals_by_currency(lines)],
            "sender": settings.DUNNING_SENDER,
            "portal_url": portal_url,
            "portal_qr_svg": qr_svg(portal_url),
        },
    )
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


# --- The customer's personal link (portal/) ---------------------------------------------------------


def portal_address(reminder: Reminder) -> str:
    """A new personal link for this reminder's customer, as an absolute URL (only the message keeps it)."""
    contact = reminder.customer.contacts.filter(is_primary=True).first()
    _, token = mint_portal_link(customer=reminder.customer, contact=contact)
    return f"{settings.PORTAL_BASE_URL}/p/{token}/"


def portal_invitation(reminder: Reminder) -> str:
    return (
        "Answer online, at any hour: dispute an invoice, promise a date, propose a payment plan, tell us "
        f"it is already paid or update your contact details:\n{portal_address(reminder)}"
    )


def qr_svg(url: str) -> str:
    """The URL as an inline SVG QR code (drawn here, no network), for the printed letter."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def make_call_task(reminder: Reminder) -> None:
    create_task(
        customer=reminder.customer,
        kind=TaskKind.CALL,
        reason=f"Dunning {reminder.step.offset_label}d, {reminder.get_tone_display()}: {reminder.subject}",
        due_on=reminder.run_on,
        dedupe_key=f"reminder:{reminder.pk}",
        actor=SYSTEM,
    )


def send_sms(reminder: Reminder) -> None:
    phone = sms_number(reminder.customer)
    if not phone:
        raise DeliveryFailed(f"{reminder.customer.name} has no phone number for SMS.")
    sms_backend().send(
        to=phone,
        text=f"{reminder.body or reminder.subject} {portal_address(reminder)}",
        reference=f"reminder:{reminder.pk}",
    )


def sms_number(customer) -> str:
    contact = customer.contacts.filter(is_primary=True).exclude(phone="").first()
    return contact.phone if contact else customer.phone


CHANNELS = {
    StepChannel.EMAIL: send_email,
    StepChannel.LETTER: send_letter,
    StepChannel.CALL_TASK: make_call_task,
    StepChannel.SMS: send_sms,
}


# --- Actions -----------------------------------------------------------------------------------


def carry_out_action(reminder: Reminder) -> None:
    """The step's optional action; each is idempotent, so a retried delivery repeats it harmlessly."""
    action = reminder.step.action
    if action == StepAction.CALL_TASK:
        make_call_task(reminder)
    elif action == StepAction.CREDIT_HOLD:
        from .services import propose_credit_hold

        propose_credit_hold(
            customer=reminder.customer,
            reason=f"Final notice of {reminder.run_on:%d %b %Y} sent: {reminder.subject}",
            today=reminder.run_on,
        )
    elif action == StepAction.COLLECTION_AGENCY:
        create_task(
            customer=reminder.customer,
            kind=TaskKind.OTHER,
            reason=f"Hand off to a collection agency: {reminder.subject}",
            due_on=reminder.run_on,
            dedupe_key=f"reminder:{reminder.pk}:agency",
            actor=SYSTEM,
        )


# --- SMS backends ------------------------------------------------------------------------------


class LoggingSmsBackend:
    """The default: writes the SMS to the log instead of sending it (no provider configured)."""

    def send(self, *, to: str, text: str, reference: str) -> None:
        logger.info("SMS to %s (%s): %s", to, reference, text)


class LocmemSmsBackend:
    """Keeps sent messages in `LocmemSmsBackend.outbox`, for tests and demos."""

    outbox: list[dict] = []

    def send(self, *, to: str, text: str, reference: str) -> None:
        self.outbox.append({"to": to, "text": text, "reference": reference})


def sms_backend():
    """The backend named by the DUNNING_SMS_BACKEND setting (a dotted path to a class with `send`)."""
    return import_string(settings.DUNNING_SMS_BACKEND)()


def letter_for_download(reminder: Reminder) -> Reminder:
    """Make sure a letter reminder has its PDF (rendered on first request if delivery has not yet)."""
    if not reminder.letter_pdf:
        with transaction.atomic():
            store_letter_pdf(reminder)
    return reminder
