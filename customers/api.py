"""The API over customers, contacts and segments: reads scoped to the portfolio, writes through services.

Customers are addressed by the ERP's account number (`PUT /customers/by-account/{account_number}/`
creates or updates); every other resource names its customer by account number too.
"""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from audit.context import Channel
from audit.selectors import customer_history, rows_of

from . import services
from .access import Capability, may, scope_to_portfolio
from .filters import ContactFilterSet, CustomerFilterSet, SegmentFilterSet, collectors
from .models import Contact, Customer, Segment
from .pagination import DocumentedPageNumberPagination


@extend_schema_field(OpenApiTypes.STR)
class CustomerByAccountField(serializers.SlugRelatedField):
    """A customer named by account number; a collector can only name customers of their portfolio."""

    default_error_messages = {
        "does_not_exist": "No customer with account number {value}.",
        "invalid": "Give the account number as text.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The customer's account number (the ERP's key).")
        super().__init__(slug_field="account_number", **kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return scope_to_portfolio(Customer.objects.all(), getattr(request, "user", None), customer_path="")


class PortfolioScopedMixin:
    """Lists and lookups limited to the user's portfolio: another collector's record is a 404."""

    customer_path = "customer"

    def get_queryset(self):
        return scope_to_portfolio(super().get_queryset(), self.request.user, self.customer_path)


class WordsWithheldMixin:
    """A user who may not read conversations (an integrator) gets `words_withheld_serializer_class`:
    the record without its words (notes, descriptions); everyone else gets `serializer_class`."""

    words_withheld_serializer_class: type[serializers.Serializer]

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False) or may(self.request.user, Capability.READ_CONVERSATIONS):
            return self.serializer_class
        return self.words_withheld_serializer_class


class WritesThroughServicesMixin:
    """One flow for every write: the serializer checks the body's shape, the viewset hands the
    validated data to a service with keyword arguments (`create_record`, `update_record`), and the
    answer is the stored record read back through the viewset's queryset, in the read shape.

    `write_serializer_class` is the body's shape when it differs from the answer's."""

    write_serializer_class: type[serializers.Serializer] | None = None

    def create(self, request, *args, **kwargs):
        shape = self.write_serializer_class or self.get_serializer_class()
        serializer = shape(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        record = self.create_record(**serializer.validated_data)
        return Response(self.read_back(record), status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = self.update_record(serializer.instance, **serializer.validated_data)

    def read_back(self, record) -> dict:
        return self.get_serializer(self.get_queryset().get(pk=record.pk)).data

    def by_key(self, request, upsert_serializer_class: type[serializers.Serializer], **key):
        """GET or PUT one record by the ERP's key (account number, invoice number): the PUT's body is
        checked by `upsert_serializer_class` and `upsert_record(**key, **validated_data)` returns
        (record, created); the answer is 201 or 200 with the record in the read shape."""
        if request.method == "GET":
            return Response(self.get_serializer(get_object_or_404(self.get_queryset(), **key)).data)
        serializer = upsert_serializer_class(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        record, created = self.upsert_record(**key, **serializer.validated_data)
        return Response(
            self.read_back(record), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def create_record(self, **data):
        raise NotImplementedError(f"{type(self).__name__} names the service that creates its records.")

    def update_record(self, instance, **data):
        raise NotImplementedError(f"{type(self).__name__} names the service that updates its records.")


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ["id", "name", "description", "lateness_threshold_days"]
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "name": {"help_text": "Unique name, e.g. Key accounts."},
            "description": {"help_text": "What the customers in it have in common."},
        }


class CustomerSerializer(serializers.ModelSerializer):
    segment = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Segment.objects.all(),
        allow_null=True,
        required=False,
        help_text="Segment name; it must exist (create it under /segments/). A credit decision: "
        "only a credit manager sets it (an integrator sending it gets a 400).",
    )
    collector = serializers.SlugRelatedField(
        allow_null=True,
        slug_field="username",
        read_only=True,
        help_text="Username of the collector (set by a credit manager).",
    )

    class Meta:
        model = Customer
        fields = [
            "id", "account_number", "name", "segment", "currency", "payment_terms_days", "credit_limit",
            "preferred_channel", "email", "phone", "address_line", "postal_code", "city", "country",
            "collector", "credit_hold", "prepayment_only", "dunning_paused_until", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "credit_hold",
            "prepayment_only",
            "dunning_paused_until",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id (filters take it as `customer`)."},
            "name": {"help_text": "The company's name."},
            "currency": {"help_text": "The account's currency (ISO 4217)."},
            "payment_terms_days": {"help_text": "Days between issue and due date agreed with the customer."},
            "credit_limit": {
                "help_text": "Most the customer may owe, in the account's currency. A credit decision: "
                "only a credit manager sets it (an integrator sending it gets a 400)."
            },
            "preferred_channel": {"help_text": "How reminders reach the customer by default."},
            "phone": {"help_text": "Main phone number."},
            "address_line": {"help_text": "Street and number, for letters."},
            "postal_code": {"help_text": "Postal code, for letters."},
            "city": {"help_text": "City, for letters."},
            "credit_hold": {"help_text": "No new deliveries on credit (a credit manager's decision)."},
            "prepayment_only": {"help_text": "Deliveries only after payment (a credit manager's decision)."},
            "dunning_paused_until": {"help_text": "No reminders until this date."},
            "created_at": {"help_text": "When the account was first synced."},
            "updated_at": {"help_text": "When the account last changed."},
        }


class CustomerUpsertSerializer(CustomerSerializer):
    """The body of PUT by-account: the account number comes from the URL; given fields are set."""

    class Meta(CustomerSerializer.Meta):
        read_only_fields = [*CustomerSerializer.Meta.read_only_fields, "account_number"]
        extra_kwargs = {
            **CustomerSerializer.Meta.extra_kwargs,
            "name": {"required": False, "help_text": "The company's name; required to create the account."},
        }


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field that changed, e.g. credit_hold or status.")
    before = serializers.CharField(help_text="Its value before; empty when it had none.")
    after = serializers.CharField(help_text="Its value after.")


class HistoryEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The entry's id.")
    timestamp = serializers.DateTimeField(help_text="When the change was made.")
    who = serializers.CharField(help_text="The user's name, or `system` (dunning run, imports, tasks).")
    by_token = serializers.BooleanField(help_text="Made through the API with the user's token.")
    via = serializers.ChoiceField(choices=Channel.choices, help_text="Through what the change came.")
    record_type = serializers.CharField(help_text="customer, invoice, agreement or complaint.")
    record_id = serializers.IntegerField(allow_null=True, help_text="The changed record's id.")
    record = serializers.CharField(help_text="The changed record as it read, e.g. an invoice number.")
    action = serializers.CharField(help_text="create or update.")
    changes = FieldChangeSerializer(many=True, help_text="Each field changed, before and after.")


class HistoryPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many entries, over all pages.")
    next = serializers.URLField(allow_null=True, help_text="URL of the next (older) page; null on the last.")
    previous = serializers.URLField(allow_null=True, help_text="URL of the previous page; null on the first.")
    results = HistoryEntrySerializer(many=True, help_text="The entries of this page, newest first.")


class CreditControlSerializer(serializers.Serializer):
    """A credit manager's decisions about an account, which an ERP sync never overwrites."""

    credit_limit = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Most the customer may owe, in the account's currency.",
    )
    segment = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Segment.objects.all(),
        allow_null=True,
        required=False,
        help_text="Segment name; null takes the customer out of its segment.",
    )
    collector = serializers.SlugRelatedField(
        slug_field="username",
        queryset=collectors(),
        allow_null=True,
        required=False,
        help_text="Username of the collector whose portfolio takes the customer; null takes it out.",
    )
    credit_hold = serializers.BooleanField(required=False, help_text="Stop deliveries on credit.")
    prepayment_only = serializers.BooleanField(required=False, help_text="Deliver only after payment.")
    dunning_paused_until = serializers.DateField(
        required=False, allow_null=True, help_text="No reminders until this date; null resumes them."
    )

    def validate(self, attrs):
        # An empty PATCH (or a body that is not a form or object at all) is a mistake, not a no-op.
        if not attrs:
            names = ", ".join(self.fields)
            raise serializers.ValidationError({"non_field_errors": [f"Send at least one of: {names}."]})
        return attrs


@extend_schema_view(
    list=extend_schema(summary="List customers", description="A collector sees their portfolio only."),
    retrieve=extend_schema(summary="One customer"),
    create=extend_schema(
        summary="Create a customer",
        description="An existing account number is a 400; use PUT by-account to create or update.",
    ),  # fmt: skip
)
class CustomerViewSet(
    WritesThroughServicesMixin, PortfolioScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    mixins.CreateModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    """Customer accounts as the ERP keeps them, with the credit manager's holds and portfolio."""

    queryset = Customer.objects.select_related("segment", "collector")
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilterSet
    ordering_fields = ["name", "account_number", "credit_limit", "updated_at", "id"]
    ordering = ["name", "id"]
    customer_path = ""
    read_capability = Capability.READ_LEDGER
    write_capabilities = {
        "create": Capability.SYNC_LEDGER,
        "by_account": Capability.SYNC_LEDGER,
        "credit_control": Capability.DECIDE_CREDIT_CONTROL,
    }

    def upsert_record(self, **values) -> tuple[Customer, bool]:
        return services.upsert_customer(actor=self.request.user, **values)

    def create_record(self, **values) -> Customer:
        return self.upsert_record(**values)[0]

    @extend_schema(
        summary="Customer by account number",
        methods=["GET"],
        responses={200: CustomerSerializer},
    )
    @extend_schema(
        summary="Create or update a customer by account number",
        description="Creates the account (201) or sets the given fields (200). Collector, holds and "
        "pauses are not set this way, so a sync never undoes a credit manager's decision.",
        methods=["PUT"],
        request=CustomerUpsertSerializer,
        responses={200: CustomerSerializer, 201: CustomerSerializer},
    )
    # The lookup names the URL's account number, so `get_object()` works here too (OPTIONS calls it).
    @action(
        detail=False, methods=["get", "put"], url_path=r"by-account/(?P<account_number>[^/\x00]+)",
        lookup_field="account_number", lookup_url_kwarg="account_number",
    )  # fmt: skip
    def by_account(self, request, account_number: str):
        return self.by_key(request, CustomerUpsertSerializer, account_number=account_number)

    @extend_schema(
        summary="Credit manager's decisions: credit limit, segment, collector, credit hold, prepayment "
        "only, dunning pause",
        description="Sets the fields sent, leaves the others; a body naming none of them is a 400.",
        request=CreditControlSerializer,
        responses={200: CustomerSerializer},
    )
    @action(detail=True, methods=["patch"], url_path="credit-control")
    def credit_control(self, request, pk=None):
        customer = self.get_object()
        # partial: a field left out of a form is left alone (not read as an unticked checkbox, i.e. false).
        serializer = CreditControlSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        customer = services.decide_credit_control(
            customer=customer, actor=request.user, **serializer.validated_data
        )
        return Response(CustomerSerializer(customer, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="The customer's audit trail (credit managers only)",
        description="Every recorded change about the customer, newest first: its credit control "
        "(credit limit, hold, prepayment only, dunning pause, collector, segment), its invoices' statuses, "
        "its agreements and its complaints' resolutions; who made it (a user, `by_token` for an API token, "
        "or system), when, through what (page, api, admin, import, task, command, system) and each field "
        "before and after. Read-only: entries cannot be changed or deleted.",
        parameters=[
            OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="Entries per page, at most 500."),
        ],
        responses={200: HistoryPageSerializer},
    )
    @action(detail=True, methods=["get"], url_path="history", filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        if not may(request.user, Capability.READ_AUDIT_TRAIL):
            raise PermissionDenied("Only a credit manager reads a customer's audit trail.")
        customer = self.get_object()
        paginator = DocumentedPageNumberPagination()
        page = paginator.paginate_queryset(customer_history(customer_id=customer.pk), request, view=self)
        return paginator.get_paginated_response(HistoryEntrySerializer(rows_of(page), many=True).data)


class ContactSerializer(serializers.ModelSerializer):
    customer = CustomerByAccountField()
    verified = serializers.BooleanField(
        write_only=True, required=False, default=False, help_text="true: the details were confirmed just now."
    )

    class Meta:
        model = Contact
        fields = ["id", "customer", "name", "role", "email", "phone", "is_primary", "verified_at", "verified"]
        read_only_fields = ["verified_at"]
        validators = []  # a new primary contact demotes the old one (services.save_contact)
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "name": {"help_text": "The person's name."},
            "email": {"help_text": "Their email address."},
            "phone": {"help_text": "Their phone number."},
            "is_primary": {"help_text": "The person reminders go to; one per customer."},
            "verified_at": {"help_text": "When the details were last confirmed."},
        }


@extend_schema_view(
    list=extend_schema(summary="List contacts"),
    retrieve=extend_schema(summary="One contact"),
    create=extend_schema(
        summary="Add a contact", description="Making one primary demotes the previous primary."
    ),
    update=extend_schema(summary="Replace a contact's details"),
    partial_update=extend_schema(summary="Change some of a contact's details"),
)
class ContactViewSet(
    WritesThroughServicesMixin, PortfolioScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    """The people at a customer: who to call and write to, kept up to date."""

    queryset = Contact.objects.select_related("customer")
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    ordering_fields = ["name", "id"]
    ordering = ["customer_id", "-is_primary", "name", "id"]
    read_capability = Capability.READ_LEDGER
    write_capabilities = {
        "create": Capability.EDIT_CONTACTS,
        "update": Capability.EDIT_CONTACTS,
        "partial_update": Capability.EDIT_CONTACTS,
    }

    def create_record(self, **values) -> Contact:
        return services.save_contact(actor=self.request.user, **values)

    def update_record(self, contact: Contact, **values) -> Contact:
        values.setdefault("customer", contact.customer)
        return services.save_contact(contact=contact, actor=self.request.user, **values)


@extend_schema_view(
    list=extend_schema(summary="List segments"),
    retrieve=extend_schema(summary="One segment"),
    create=extend_schema(summary="Create a segment"),
)
class SegmentViewSet(
    WritesThroughServicesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Groups of customers treated alike, each with its dunning policy (set by credit managers)."""

    queryset = Segment.objects.all()
    read_capability = Capability.READ_LEDGER
    write_capabilities = {"create": Capability.MANAGE_SETTINGS}
    serializer_class = SegmentSerializer
    filterset_class = SegmentFilterSet
    ordering_fields = ["name", "id"]
    ordering = ["name"]

    def create_record(self, **values) -> Segment:
        return services.upsert_segment(actor=self.request.user, **values)


def local_today():
    """The day at the API's edge; services below take it as `today=`."""
    return timezone.localdate()
