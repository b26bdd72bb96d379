"""Writes to the ledger: invoices, payments and their allocations.

Each function runs in one transaction and either writes everything or nothing. Validation errors
are raised as django.core.exceptions.ValidationError with a message per field.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from customers.models import Customer

from .choices import InvoiceStatus
from .models import Allocation, Invoice, Payment


@dataclass(frozen=True)
class AllocationRequest:
    invoice_number: str
    amount: Decimal


def upsert_invoice(
    *,
    number: str,
    customer: Customer,
    issue_date: date,
    due_date: date,
    amount: Decimal,
    currency: str,
    description: str = "",
) -> tuple[Invoice, bool]:
    """Create the invoice with this number, or update it to these values. Returns (invoice, created).

    Re-sending the same values changes nothing. An invoice's amount cannot drop below what is
    already allocated to it, and its currency cannot change once payments are allocated.
    """
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(number=number).first()
        created = invoice is None
        if created:
            invoice = Invoice(number=number)
        elif invoice.allocated_amount and (
            currency != invoice.currency or invoice.customer_id != customer.pk
        ):
            raise ValidationError(
                {"currency": "An invoice with payments allocated keeps its customer and currency."}
            )
        invoice.customer = customer
        invoice.issue_date = issue_date
        invoice.due_date = due_date
        invoice.amount = amount
        invoice.currency = currency
        invoice.description = description
        invoice.full_clean(exclude=["allocated_amount"], validate_unique=False)
        if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
            invoice.status = status_for_balance(invoice.amount, invoice.allocated_amount)
        invoice.save()
        return invoice, created


def record_payment(
    *,
    customer: Customer,
    reference: str,
    received_on: date,
    amount: Decimal,
    currency: str,
    allocations: list[AllocationRequest] = (),
) -> tuple[Payment, bool]:
    """Record a payment and allocate it over invoices. Returns (payment, created).

    A payment with the same customer and reference already recorded is returned as it is: the ERP
    may send it twice. Any bad allocation rolls the whole payment back.
    """
    with transaction.atomic():
        existing = Payment.objects.filter(customer=customer, reference=reference).first()
        if existing:
            return existing, False
        payment = Payment(
            customer=customer, reference=reference, received_on=received_on, amount=amount, currency=currency
        )
        payment.full_clean(exclude=["allocated_amount"])
        payment.save()
        invoices = Invoice.objects.in_bulk([a.invoice_number for a in allocations], field_name="number")
        for index, request in enumerate(allocations):
            invoice = invoices.get(request.invoice_number)
            if invoice is None:
                raise ValidationError(
                    {f"allocations[{index}].invoice": f"No invoice numbered {request.invoice_number}."}
                )
            try:
                allocate(payment=payment, invoice=invoice, amount=request.amount)
            except ValidationError as error:
                raise ValidationError({f"allocations[{index}]": error.messages}) from error
        return payment, True


def allocate(*, payment: Payment, invoice: Invoice, amount: Decimal) -> Allocation:
    """Allocate part of a payment to an invoice, and mark the invoice paid when nothing is left.

    The database refuses an allocation that would exceed the payment or the invoice, even under
    concurrent writers; that refusal comes back as a ValidationError saying which.
    """
    if amount is None or amount <= 0:
        raise ValidationError({"amount": "An allocation must be a positive amount."})
    if payment.customer_id != invoice.customer_id:
        raise ValidationError({"invoice": f"Invoice {invoice.number} belongs to another customer."})
    if payment.currency != invoice.currency:
        message = f"Invoice {invoice.number} is in {invoice.currency}, the payment in {payment.currency}."
        raise ValidationError({"invoice": message})
    try:
        with transaction.atomic():
            allocation = Allocation.objects.create(payment=payment, invoice=invoice, amount=amount)
            Invoice.objects.filter(pk=invoice.pk).update(allocated_amount=F("allocated_amount") + amount)
            Payment.objects.filter(pk=payment.pk).update(allocated_amount=F("allocated_amount") + amount)
    except IntegrityError as error:
        raise ValidationError({"amount": over_allocation_message(payment, invoice, amount, error)}) from error
    invoice.refresh_from_db(fields=["allocated_amount", "status"])
    payment.refresh_from_db(fields=["allocated_amount"])
    if invoice.status == InvoiceStatus.OPEN and invoice.allocated_amount >= invoice.amount:
        Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.PAID)
        invoice.status = InvoiceStatus.PAID
    return allocation


def set_invoice_status(*, invoice: Invoice, status: str) -> Invoice:
    """Dispute, write off, cancel or reopen an invoice; "paid" follows from allocations only."""
    if status == InvoiceStatus.PAID:
        raise ValidationError({"status": "An invoice becomes paid through payments, not by hand."})
    if status not in InvoiceStatus.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    if status == InvoiceStatus.OPEN:
        status = status_for_balance(invoice.amount, invoice.allocated_amount)
    Invoice.objects.filter(pk=invoice.pk).update(status=status)
    invoice.status = status
    return invoice


def status_for_balance(amount: Decimal, allocated: Decimal) -> str:
    return InvoiceStatus.PAID if allocated >= amount else InvoiceStatus.OPEN


def over_allocation_message(
    payment: Payment, invoice: Invoice, amount: Decimal, error: IntegrityError
) -> str:
    text = str(error)
    if "allocation_once_per_payment_and_invoice" in text or "UNIQUE" in text.upper():
        return f"Payment {payment.reference} is already allocated to invoice {invoice.number}."
    invoice.refresh_from_db(fields=["allocated_amount"])
    payment.refresh_from_db(fields=["allocated_amount"])
    if "payment_not_over_allocated" in text:
        left = payment.amount - payment.allocated_amount
        return f"{amount} exceeds what is left of payment {payment.reference} ({left} {payment.currency})."
    left = invoice.amount - invoice.allocated_amount
    return f"{amount} exceeds the open amount of invoice {invoice.number} ({left} {invoice.currency})."
