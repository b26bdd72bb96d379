"""The API over invoices and payments: cursor-paginated lists, upsert by number, bulk sync.

Bulk endpoints take up to 5,000 items and are all or nothing: the answer to a bad request lists
every failing item by position and key, and nothing is written.
"""

from decimal import Decimal

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from customers.access import Capability
from customers.api import CustomerByAccountField, PortfolioScopedMixin, WritesThroughServicesMixin
from customers.choices import Currency
from customers.pagination import document_page

from . import services
from .choices import InvoiceStatus
from .filters import InvoiceFilterSet, PaymentFilterSet
from .models import Allocation, Invoice, Payment
from .services import AllocationRequest, BulkValidationError, InvoiceData, PaymentData

MONEY = {"max_digits": 14, "decimal_places": 2}


class LedgerCursorPagination(CursorPagination):
    """Stable pages over tables that grow large: a cursor, not an offset, so deep pages stay fast."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "id"

    def get_paginated_response_schema(self, schema):
        return document_page(super().get_paginated_response_schema(schema))


class InvoiceSerializer(serializers.ModelSerializer):
    customer = CustomerByAccountField()
    customer_id = serializers.IntegerField(read_only=True, help_text="CreditDesk's id of the customer.")
    open_amount = serializers.SerializerMethodField(help_text="What is still owed: amount less allocations.")

    class Meta:
        model = Invoice
        fields = [
            "id", "number", "customer", "customer_id", "issue_date", "due_date", "amount", "currency",
            "allocated_amount", "open_amount", "status", "description", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["allocated_amount", "status", "created_at", "updated_at"]
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "issue_date": {"help_text": "Date the invoice was issued (YYYY-MM-DD)."},
            "due_date": {"help_text": "Date payment is due (YYYY-MM-DD); not before the issue date."},
            "amount": {
                "help_text": "Total of the invoice, positive, two decimals.",
                "min_value": Decimal("0.01"),
            },
            "currency": {"help_text": "ISO 4217 code."},
            "allocated_amount": {"help_text": "What payments have paid of it so far."},
            "status": {
                "help_text": "open and paid follow from payments; disputed, written off and cancelled "
                "are decided."
            },  # fmt: skip
            "description": {"help_text": "Free text from the ERP."},
            "created_at": {"help_text": "When it was first synced."},
            "updated_at": {"help_text": "When it last changed."},
        }

    def get_open_amount(self, invoice) -> str:
        return f"{invoice.amount - invoice.allocated_amount:.2f}"


class InvoiceUpsertSerializer(InvoiceSerializer):
    """The body of PUT by-number: the number comes from the URL."""

    class Meta(InvoiceSerializer.Meta):
        read_only_fields = [*InvoiceSerializer.Meta.read_only_fields, "number"]


class InvoiceItemSerializer(serializers.Serializer):
    """One invoice in a bulk request."""

    number = serializers.CharField(max_length=40, help_text="The ERP's invoice number: the key.")
    customer = serializers.CharField(max_length=40, help_text="The customer's account number.")
    issue_date = serializers.DateField(help_text="YYYY-MM-DD.")
    due_date = serializers.DateField(help_text="YYYY-MM-DD, not before the issue date.")
    amount = serializers.DecimalField(**MONEY, help_text="Positive, two decimals.")
    currency = serializers.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR.")
    description = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=300,
        help_text="Free text, at most 300 characters.",
    )

    def to_data(self, validated: dict) -> InvoiceData:
        data = dict(validated)
        return InvoiceData(account_number=data.pop("customer"), **data)


class InvoiceBulkSerializer(serializers.Serializer):
    """The body of POST /invoices/bulk/ as documented; items are checked one by one (see run_bulk)."""

    invoices = InvoiceItemSerializer(
        many=True,
        min_length=1,
        max_length=services.BULK_LIMIT,
        help_text=f"1 to {services.BULK_LIMIT} invoices, created or updated by number.",
    )


class RawBulkSerializer(serializers.Serializer):
    """The envelope of a bulk request, its items still unchecked: a list of 1 to 5,000 objects."""

    def __init__(self, *args, key: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[key] = serializers.ListField(
            child=serializers.DictField(), min_length=1, max_length=services.BULK_LIMIT
        )


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Items that did not exist before.")
    updated = serializers.IntegerField(help_text="Items that existed and changed.")
    unchanged = serializers.IntegerField(help_text="Items equal to what was stored: nothing was written.")


class BulkItemErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request, from 0.")
    key = serializers.CharField(allow_blank=True, help_text="Its invoice number or payment reference.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="Messages per field."
    )


class BulkErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(required=False, help_text="How many items failed; nothing was written.")
    errors = BulkItemErrorSerializer(
        many=True,
        required=False,
        help_text="Every failing item, in request order. (A malformed envelope is "
        "answered like any other 400: messages per field, e.g. `invoices`.)",
    )


class InvoiceStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[s for s in InvoiceStatus.choices if s[0] != InvoiceStatus.PAID],
        help_text="disputed, written_off, cancelled, or open to reopen (paid follows from payments).",
    )


def run_bulk(items: list, item_serializer, key_field: str, check, write) -> Response:
    """Check the shape of every item, then let the service check and write them all, or none.

    When some items are malformed, the well-formed ones are still checked (without writing), so
    one answer lists every problem in the request.
    """
    shaped, errors = [], []
    serializer = item_serializer()  # one instance for all items: building its fields is the costly part
    for index, item in enumerate(items):
        try:
            shaped.append((index, serializer.to_data(serializer.run_validation(item))))
        except serializers.ValidationError as invalid:
            key = item.get(key_field, "") if isinstance(item, dict) else ""
            errors.append({"index": index, "key": str(key)[:60], "errors": flat_errors(invalid.detail)})
    try:
        if errors:
            raise BulkValidationError(check([data for _, data in shaped]))
        result = write([data for _, data in shaped])
    except BulkValidationError as invalid:
        errors += [{**error, "index": shaped[error["index"]][0]} for error in invalid.errors]
        errors.sort(key=lambda error: error["index"])
        detail = f"{len(errors)} of {len(items)} item(s) are invalid; nothing was written."
        return Response({"detail": detail, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)
    return Response(BulkResultSerializer(result).data, status=status.HTTP_200_OK)


def bulk_throttles(view, throttles: list) -> list:
    """Bulk requests count against their own, lower rate (API_THROTTLE_BULK) besides the user's."""
    if view.action == "bulk":
        view.throttle_scope = "bulk"
        return [*throttles, ScopedRateThrottle()]
    return throttles


def flat_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as one level, named like the services name them: "allocations[0].amount"."""
    if isinstance(errors, list) and not any(isinstance(e, dict | list) for e in errors):
        return {prefix or "non_field_errors": [str(e) for e in errors]}
    pairs = errors.items() if isinstance(errors, dict) else enumerate(errors)
    flat: dict[str, list[str]] = {}
    for key, value in pairs:
        if str(key).isdigit():
            name = f"{prefix}[{key}]"
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        if value:
            flat.update(flat_errors(value, name))
    return flat


def check_invoices(items: list[InvoiceData]) -> list[dict]:
    return services.check_invoice_batch(items, seen_numbers=set()).errors


def check_payments(items: list[PaymentData]) -> list[dict]:
    return services.check_payment_batch(items, seen_keys=set()).errors


@extend_schema_view(
    list=extend_schema(
        summary="List invoices", description="Cursor-paginated; filters as on the invoice pages."
    ),
    retrieve=extend_schema(summary="One invoice"),
    create=extend_schema(
        summary="Create an invoice",
        description="An existing number is a 400; use PUT by-number to create or update.",
    ),  # fmt: skip
)
class InvoiceViewSet(
    WritesThroughServicesMixin, PortfolioScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    mixins.CreateModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    """The ledger's invoices, with what is still open on each."""

    queryset = Invoice.objects.select_related("customer")
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilterSet
    pagination_class = LedgerCursorPagination
    ordering_fields = ["id", "due_date", "issue_date", "amount", "number", "updated_at"]
    ordering = ["id"]
    read_capability = Capability.READ_LEDGER
    write_capabilities = {
        "create": Capability.SYNC_LEDGER,
        "by_number": Capability.SYNC_LEDGER,
        "bulk": Capability.SYNC_LEDGER,
        "set_status": Capability.SET_INVOICE_STATUS,
    }

    def get_throttles(self):
        return bulk_throttles(self, super().get_throttles())

    def upsert_record(self, **values) -> tuple[Invoice, bool]:
        return services.upsert_invoice(**values)

    def create_record(self, **values) -> Invoice:
        return self.upsert_record(**values)[0]

    @extend_schema(summary="Invoice by number", methods=["GET"], responses={200: InvoiceSerializer})
    @extend_schema(
        summary="Create or update an invoice by number",
        description="Creates it (201) or sets it to these values (200); sending the same values changes "
        "nothing. The amount cannot drop below what is paid; customer and currency stay once paid.",
        methods=["PUT"],
        request=InvoiceUpsertSerializer,
        responses={200: InvoiceSerializer, 201: InvoiceSerializer},
    )
    # The lookup names the URL's number, so `get_object()` works here too (OPTIONS calls it).
    @action(
        detail=False, methods=["get", "put"], url_path=r"by-number/(?P<number>[^/\x00]+)",
        lookup_field="number", lookup_url_kwarg="number",
    )  # fmt: skip
    def by_number(self, request, number: str):
        return self.by_key(request, InvoiceUpsertSerializer, number=number)

    @extend_schema(
        summary="Create or update up to 5,000 invoices, all or nothing",
        request=InvoiceBulkSerializer,
        responses={200: BulkResultSerializer, 400: BulkErrorSerializer},
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        envelope = RawBulkSerializer(data=request.data, key="invoices")
        envelope.is_valid(raise_exception=True)
        items = envelope.validated_data["invoices"]
        return run_bulk(items, InvoiceItemSerializer, "number", check_invoices, services.bulk_upsert_invoices)

    @extend_schema(summary="Dispute, write off, cancel or reopen an invoice (credit managers)",
                   request=InvoiceStatusSerializer,
                   responses={200: InvoiceSerializer})  # fmt: skip
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        invoice = self.get_object()
        serializer = InvoiceStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invoice = services.set_invoice_status(
            invoice=invoice, status=serializer.validated_data["status"], actor=request.user
        )
        return Response(InvoiceSerializer(invoice, context=self.get_serializer_context()).data)


class AllocationItemSerializer(serializers.Serializer):
    invoice = serializers.CharField(max_length=40, help_text="The invoice number it pays.")
    amount = serializers.DecimalField(**MONEY, help_text="How much of the payment goes to it: positive.")


class AllocationSerializer(serializers.ModelSerializer):
    invoice = serializers.CharField(source="invoice.number", help_text="The invoice number it pays.")

    class Meta:
        model = Allocation
        fields = ["invoice", "amount"]
        extra_kwargs = {"amount": {"help_text": "How much of the payment goes to this invoice."}}


class PaymentSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(
        source="customer.account_number", help_text="The customer's account number."
    )
    customer_id = serializers.IntegerField(read_only=True, help_text="CreditDesk's id of the customer.")
    allocations = AllocationSerializer(many=True, read_only=True, help_text="How it splits over invoices.")
    unallocated_amount = serializers.SerializerMethodField(help_text="What is not yet allocated to invoices.")

    class Meta:
        model = Payment
        fields = [
            "id", "customer", "customer_id", "reference", "received_on", "amount", "currency",
            "allocated_amount", "unallocated_amount", "allocations", "created_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "reference": {"help_text": "The ERP's or bank's reference, unique per customer."},
            "received_on": {"help_text": "Date the money arrived."},
            "amount": {"help_text": "Amount received."},
            "currency": {"help_text": "ISO 4217 code."},
            "allocated_amount": {"help_text": "What is allocated to invoices."},
            "created_at": {"help_text": "When it was recorded."},
        }

    def get_unallocated_amount(self, payment) -> str:
        return f"{payment.amount - payment.allocated_amount:.2f}"


class PaymentWriteSerializer(serializers.Serializer):
    """The body of POST /payments/: one payment and how it splits over invoices."""

    customer = CustomerByAccountField()
    reference = serializers.CharField(
        max_length=60, help_text="The ERP's or bank's reference, unique per customer."
    )
    received_on = serializers.DateField(help_text="Date the money arrived (YYYY-MM-DD).")
    amount = serializers.DecimalField(
        **MONEY, min_value=Decimal("0.01"), help_text="Amount received, positive."
    )
    currency = serializers.ChoiceField(choices=Currency.choices, help_text="ISO 4217 code.")
    allocations = AllocationItemSerializer(many=True, required=False, help_text="Invoices it pays, in order.")


class PaymentItemSerializer(serializers.Serializer):
    """One payment in a bulk request."""

    customer = serializers.CharField(max_length=40, help_text="The customer's account number.")
    reference = serializers.CharField(max_length=60, help_text="Unique per customer: the key.")
    received_on = serializers.DateField(help_text="YYYY-MM-DD.")
    amount = serializers.DecimalField(**MONEY, help_text="Positive, two decimals.")
    currency = serializers.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR.")
    allocations = AllocationItemSerializer(
        many=True,
        required=False,
        default=list,
        help_text="Invoices it pays; leave out to record it unallocated.",
    )

    def to_data(self, validated: dict) -> PaymentData:
        data = dict(validated)
        allocations = tuple(AllocationRequest(a["invoice"], a["amount"]) for a in data.pop("allocations"))
        return PaymentData(account_number=data.pop("customer"), allocations=allocations, **data)


class PaymentBulkSerializer(serializers.Serializer):
    """The body of POST /payments/bulk/ as documented; items are checked one by one (see run_bulk)."""

    payments = PaymentItemSerializer(
        many=True,
        min_length=1,
        max_length=services.BULK_LIMIT,
        help_text=f"1 to {services.BULK_LIMIT} payments.",
    )


@extend_schema_view(
    list=extend_schema(summary="List payments", description="Cursor-paginated, with their allocations."),
    retrieve=extend_schema(summary="One payment"),
    create=extend_schema(
        summary="Record a payment and allocate it",
        request=PaymentWriteSerializer,
        description="201 when recorded; 200 with the stored payment when this customer already has one "
        "with this reference. A bad allocation refuses the whole payment.",
        responses={201: PaymentSerializer, 200: PaymentSerializer},
    ),
)
class PaymentViewSet(
    WritesThroughServicesMixin, PortfolioScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    mixins.CreateModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    """Money received, split over the invoices it pays."""

    queryset = Payment.objects.select_related("customer").prefetch_related("allocations__invoice")
    serializer_class = PaymentSerializer
    write_serializer_class = PaymentWriteSerializer
    filterset_class = PaymentFilterSet
    pagination_class = LedgerCursorPagination
    ordering_fields = ["id", "received_on", "amount", "reference"]
    ordering = ["id"]
    read_capability = Capability.READ_LEDGER
    write_capabilities = {"create": Capability.SYNC_LEDGER, "bulk": Capability.SYNC_LEDGER}

    def get_throttles(self):
        return bulk_throttles(self, super().get_throttles())

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        if not self.created:  # this customer already has a payment with this reference: the stored one
            response.status_code = status.HTTP_200_OK
        return response

    def create_record(self, *, allocations=(), **values) -> Payment:
        requests = [AllocationRequest(a["invoice"], a["amount"]) for a in allocations]
        payment, self.created = services.record_payment(allocations=requests, **values)
        return payment

    @extend_schema(
        summary="Record up to 5,000 payments with their allocations, all or nothing",
        request=PaymentBulkSerializer,
        responses={200: BulkResultSerializer, 400: BulkErrorSerializer},
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        envelope = RawBulkSerializer(data=request.data, key="payments")
        envelope.is_valid(raise_exception=True)
        items = envelope.validated_data["payments"]
        return run_bulk(
            items, PaymentItemSerializer, "reference", check_payments, services.bulk_record_payments
        )
