"""Invoices, the payments that settle them, and the allocations that split a payment over invoices.

`allocated_amount` on Invoice and Payment is the running sum of their allocations, kept by
`invoices.services.allocate` in the same transaction as the allocation. It exists so the database
itself refuses an over-allocation (a CHECK cannot sum rows; it can compare two columns), including
under concurrent writers, since the UPDATE that raises the sum takes the row lock.
"""

from django.db import models
from django.db.models import F, Q

from customers.fields import CurrencyField, FieldCheckConstraint, MoneyField, known_currency_constraint
from customers.models import Customer

from .choices import InvoiceStatus


class Invoice(models.Model):
    number = models.CharField(max_length=40, unique=True, help_text="The ERP's invoice number.")
    # No index of its own: (customer, status, due_date) below serves every lookup by customer.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices", db_index=False)
    issue_date = models.DateField()
    due_date = models.DateField()
    amount = MoneyField()
    currency = CurrencyField()
    allocated_amount = MoneyField(default=0, editable=False)
    status = models.CharField(max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "number"]
        indexes = [
            models.Index(fields=["customer", "status", "due_date"]),
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["issue_date"]),
            # Today's aging reads only the invoices still open (about a tenth of the ledger): this
            # partial index holds just those, with every column the figures need (index-only scan).
            models.Index(
                fields=["currency", "due_date"],
                include=["issue_date", "amount", "allocated_amount", "customer"],
                condition=Q(allocated_amount__lt=F("amount")) & ~Q(status__in=["written_off", "cancelled"]),
                name="invoice_open_aging",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="invoice_amount_positive",
                violation_error_message="The invoice amount must be positive.",
            ),
            FieldCheckConstraint(
                field="due_date",
                condition=Q(due_date__gte=F("issue_date")),
                name="invoice_due_not_before_issue",
                violation_error_message="The due date cannot be before the issue date.",
            ),
            models.CheckConstraint(
                condition=Q(allocated_amount__gte=0) & Q(allocated_amount__lte=F("amount")),
                name="invoice_not_over_allocated",
                violation_error_message="Allocations cannot exceed the invoice amount.",
            ),
            known_currency_constraint("invoice"),
        ]

    def __str__(self) -> str:
        return self.number


class Payment(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    reference = models.CharField(max_length=60, help_text="The ERP's or bank's payment reference.")
    received_on = models.DateField()
    amount = MoneyField()
    currency = CurrencyField()
    allocated_amount = MoneyField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "reference"]
        indexes = [models.Index(fields=["customer", "received_on"]), models.Index(fields=["received_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "reference"],
                name="payment_reference_unique_per_customer",
                violation_error_message="This customer already has a payment with this reference.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="payment_amount_positive",
                violation_error_message="The payment amount must be positive.",
            ),
            models.CheckConstraint(
                condition=Q(allocated_amount__gte=0) & Q(allocated_amount__lte=F("amount")),
                name="payment_not_over_allocated",
                violation_error_message="Allocations cannot exceed the payment amount.",
            ),
            known_currency_constraint("payment"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def unallocated_amount(self):
        return self.amount - self.allocated_amount


class Allocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = MoneyField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "invoice"],
                name="allocation_once_per_payment_and_invoice",
                violation_error_message="This payment is already allocated to this invoice.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="allocation_amount_positive",
                violation_error_message="An allocation must be a positive amount.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of {self.payment_id} to {self.invoice_id}"
