"""Bank statements, their transactions, and the bank accounts customers pay from.

A statement is keyed by the account it reports on and the bank's statement id; a transaction by
(account, statement id, entry reference, detail number): a batch booking is one entry with several
transaction details, each its own transaction. The unique constraint makes a re-import add nothing.
"""

from django.db import models
from django.db.models import Q

from customers.fields import CurrencyField, MoneyField
from customers.models import Customer
from invoices.models import Payment

from .choices import AccountSource, Direction, StatementFormat, TransactionStatus


class CustomerBankAccount(models.Model):
    """An IBAN a customer pays from: given as master data, or learned when a person confirms a match."""

    iban = models.CharField(max_length=34, unique=True, help_text="Electronic form: no spaces, upper case.")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="bank_accounts")
    source = models.CharField(max_length=12, choices=AccountSource.choices, default=AccountSource.MASTER_DATA)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.iban


class BankStatement(models.Model):
    account = models.CharField(max_length=34, help_text="The IBAN (or bank account id) the statement is for.")
    statement_id = models.CharField(max_length=35)
    format = models.CharField(max_length=10, choices=StatementFormat.choices)
    created_on = models.DateField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "statement_id"], name="bank_statement_once_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.statement_id}"


class BankTransaction(models.Model):
    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="transactions")
    # The statement's key repeated here, so the unique constraint below sits on this one table.
    account = models.CharField(max_length=34)
    statement_ref = models.CharField(max_length=35, help_text="The bank's statement id.")
    entry_reference = models.CharField(max_length=35)
    detail_number = models.PositiveSmallIntegerField(default=0, help_text="Position in a batch booking.")
    direction = models.CharField(max_length=6, choices=Direction.choices)
    booking_date = models.DateField()
    value_date = models.DateField()
    amount = MoneyField()
    currency = CurrencyField()
    counterparty_name = models.CharField(max_length=140, blank=True)
    counterparty_iban = models.CharField(max_length=34, blank=True)
    structured_reference = models.CharField(max_length=35, blank=True)
    remittance_text = models.CharField(max_length=500, blank=True)
    end_to_end_id = models.CharField(max_length=35, blank=True)
    status = models.CharField(max_length=12, choices=TransactionStatus.choices)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="bank_transactions",
        help_text="The payer, once known (the first customer of a split).",
    )  # fmt: skip
    confidence = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    # The matcher's best suggestions (at most three), kept so the queue page reads one row per line.
    suggestions = models.JSONField(default=list, blank=True)
    payments = models.ManyToManyField(Payment, blank=True, related_name="bank_transactions")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["booking_date", "pk"]
        indexes = [models.Index(fields=["status", "booking_date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "statement_ref", "entry_reference", "detail_number"],
                name="bank_transaction_once",
                violation_error_message="This statement entry is already imported.",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="bank_transaction_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.amount} {self.currency} {self.counterparty_name}"

    @property
    def payment_reference(self) -> str:
        """The reference of the Payment(s) this transaction becomes: one per customer, so a retry finds it."""
        return f"BANK-{self.pk}"
