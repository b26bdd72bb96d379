"""The API over what is said with customers: interactions (logged calls), excuses, complaints, tasks.

Logging an interaction goes through `calls.services.log_call`, so a call logged by API has the same
effects as one logged in the browser: agreements, excuses, disputes, tasks done and created.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from agreements.api import InstalmentTermsSerializer
from agreements.services import InstalmentTerms
from customers.access import Capability
from customers.api import (
    CustomerByAccountField,
    PortfolioScopedMixin,
    WordsWithheldMixin,
    WritesThroughServicesMixin,
    local_today,
)
from customers.selectors import contact_of
from invoices.selectors import invoices_numbered

from . import services
from .choices import (
    ComplaintCategory,
    ComplaintOutcome,
    Direction,
    ExcuseCategory,
    InteractionChannel,
    Outcome,
    TaskKind,
    TaskStatus,
)
from .filters import ComplaintFilterSet, ExcuseFilterSet, InteractionFilterSet, TaskFilterSet
from .models import Complaint, Excuse, Interaction, Task

CUSTOMER_READ = {"help_text": "The customer's account number."}


def invoice_numbers_field(help_text: str):
    return serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list, help_text=help_text
    )


class InteractionSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.account_number", **CUSTOMER_READ)
    customer_id = serializers.IntegerField(help_text="CreditDesk's id of the customer.")
    user = serializers.SlugRelatedField(
        allow_null=True, slug_field="username", read_only=True, help_text="Who logged it."
    )
    contact = serializers.PrimaryKeyRelatedField(
        allow_null=True, read_only=True, help_text="Contact id spoken to."
    )
    agreement = serializers.PrimaryKeyRelatedField(
        allow_null=True, read_only=True, help_text="Agreement made in it, if any."
    )

    class Meta:
        model = Interaction
        fields = [
            "id", "customer", "customer_id", "contact", "user", "occurred_at", "channel", "direction",
            "outcome", "minutes_spent", "notes", "next_action_on", "agreement",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "occurred_at": {"help_text": "When it happened."},
            "channel": {"help_text": "phone, email, letter, sms or visit."},
            "direction": {"help_text": "outbound (we reached out) or inbound."},
            "outcome": {"help_text": "What came of it."},
            "minutes_spent": {"help_text": "Effort, in minutes."},
            "notes": {"help_text": "What was said."},
            "next_action_on": {"help_text": "When to follow up."},
        }


class ExcuseInputSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=ExcuseCategory.choices, help_text="The kind of reason given.")
    words = serializers.CharField(required=False, allow_blank=True, default="", help_text="In their words.")


class ComplaintInputSerializer(serializers.Serializer):
    category = serializers.ChoiceField(
        choices=ComplaintCategory.choices, help_text="What the dispute is about."
    )
    description = serializers.CharField(help_text="The customer's complaint.")


class InteractionWriteSerializer(serializers.Serializer):
    """Everything one call produced, as in the browser's call form."""

    customer = CustomerByAccountField()
    outcome = serializers.ChoiceField(choices=Outcome.choices, help_text="What came of it.")
    channel = serializers.ChoiceField(choices=InteractionChannel.choices, default=InteractionChannel.PHONE)
    direction = serializers.ChoiceField(choices=Direction.choices, default=Direction.OUTBOUND)
    contact = serializers.IntegerField(required=False, allow_null=True, help_text="Contact id spoken to.")
    occurred_at = serializers.DateTimeField(required=False, help_text="When; now when left out.")
    minutes_spent = serializers.IntegerField(min_value=0, max_value=1440, default=0, help_text="Effort.")
    notes = serializers.CharField(required=False, allow_blank=True, default="", help_text="What was said.")
    next_action_on = serializers.DateField(
        required=False, allow_null=True, help_text="Follow up on (a task)."
    )
    promise = InstalmentTermsSerializer(required=False, allow_null=True, help_text="A promise to pay.")
    plan = InstalmentTermsSerializer(many=True, required=False, help_text="A payment plan (2+ instalments).")
    excuse = ExcuseInputSerializer(
        required=False, allow_null=True, help_text="A reason given for not paying."
    )
    complaint = ComplaintInputSerializer(
        required=False, allow_null=True, help_text="A dispute: opens a complaint."
    )
    invoices = invoice_numbers_field("Numbers of the invoices discussed (promise, excuse, complaint).")


class ExcuseSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.account_number", **CUSTOMER_READ)
    customer_id = serializers.IntegerField(help_text="CreditDesk's id of the customer.")
    invoices = serializers.SlugRelatedField(
        slug_field="number", many=True, read_only=True, help_text="About these."
    )

    class Meta:
        model = Excuse
        fields = ["id", "customer", "customer_id", "interaction", "category", "words", "given_on", "invoices"]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "interaction": {"help_text": "The interaction it was given in."},
            "category": {"help_text": "The kind of reason."},
            "words": {"help_text": "What the customer said."},
            "given_on": {"help_text": "The day it was given."},
        }


class CustomerInvoicesSerializer(serializers.Serializer):
    """Write serializers naming a customer and invoice numbers: they are looked up in that customer."""


class ExcuseWriteSerializer(CustomerInvoicesSerializer):
    customer = CustomerByAccountField()
    category = serializers.ChoiceField(choices=ExcuseCategory.choices, help_text="The kind of reason given.")
    words = serializers.CharField(required=False, allow_blank=True, default="", help_text="In their words.")
    invoices = invoice_numbers_field("Numbers of the invoices it is about.")


class ComplaintSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.account_number", **CUSTOMER_READ)
    customer_id = serializers.IntegerField(help_text="CreditDesk's id of the customer.")
    outcome = serializers.ChoiceField(
        choices=ComplaintOutcome.choices,
        allow_blank=True,
        read_only=True,
        help_text="upheld or rejected; empty while open.",
    )
    resolved_by = serializers.SlugRelatedField(
        allow_null=True, slug_field="username", read_only=True, help_text="Who resolved it."
    )
    invoices = serializers.SlugRelatedField(
        slug_field="number", many=True, read_only=True, help_text="Disputed."
    )

    class Meta:
        model = Complaint
        fields = [
            "id", "customer", "customer_id", "interaction", "category", "description", "opened_on",
            "resolved_on", "outcome", "resolved_by", "invoices",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "interaction": {"help_text": "The interaction it was raised in (not shown to integrators)."},
            "category": {"help_text": "What the dispute is about."},
            "description": {"help_text": "The customer's complaint (not shown to integrators)."},
            "opened_on": {"help_text": "The day it was opened."},
            "resolved_on": {"help_text": "The day it was resolved; null while open."},
        }


class DisputeSerializer(ComplaintSerializer):
    """A complaint as an integrator reads it: the dispute (category, dates, outcome, invoices), not the
    customer's words nor the interaction it was raised in (customers.access: READ_CONVERSATIONS)."""

    class Meta(ComplaintSerializer.Meta):
        fields = [f for f in ComplaintSerializer.Meta.fields if f not in ("description", "interaction")]
        read_only_fields = fields


class ComplaintWriteSerializer(CustomerInvoicesSerializer):
    customer = CustomerByAccountField()
    category = serializers.ChoiceField(
        choices=ComplaintCategory.choices, help_text="What the dispute is about."
    )
    description = serializers.CharField(help_text="The customer's complaint.")
    invoices = serializers.ListField(
        child=serializers.CharField(max_length=40),
        min_length=1,
        help_text="Numbers of the disputed invoices.",
    )


class ResolutionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=ComplaintOutcome.choices, help_text="upheld or rejected.")
    cancel_invoices = serializers.BooleanField(
        default=False, help_text="Upheld: cancel the disputed invoices (else they are reopened)."
    )


class TaskSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.account_number", **CUSTOMER_READ)
    customer_id = serializers.IntegerField(help_text="CreditDesk's id of the customer.")
    assigned_to = serializers.SlugRelatedField(
        allow_null=True, slug_field="username", read_only=True, help_text="Who it is for."
    )

    class Meta:
        model = Task
        fields = ["id", "customer", "customer_id", "assigned_to", "kind", "reason", "due_on", "status",
                  "created_at", "done_at"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "created_at": {"help_text": "When it was created."},
            "kind": {"help_text": "What to do."},
            "reason": {"help_text": "Why, at a glance."},
            "due_on": {"help_text": "By when."},
            "status": {"help_text": "open, done or cancelled."},
            "done_at": {"help_text": "When it was done or cancelled."},
        }


class TaskWriteSerializer(serializers.Serializer):
    customer = CustomerByAccountField()
    kind = serializers.ChoiceField(choices=TaskKind.choices, default=TaskKind.CALL, help_text="What to do.")
    reason = serializers.CharField(max_length=300, help_text="Why, in words a collector reads at a glance.")
    due_on = serializers.DateField(help_text="By when (YYYY-MM-DD).")
    assigned_to = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Username; the customer's collector when left out.",
    )


class TaskCompletionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(TaskStatus.DONE, "Done"), (TaskStatus.CANCELLED, "Cancelled")], default=TaskStatus.DONE
    )


class CallsViewSet(
    WritesThroughServicesMixin, PortfolioScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    mixins.CreateModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    """Conversations: read by those who may read their words, written by those who log calls."""

    read_capability = Capability.READ_CONVERSATIONS
    write_capabilities = {"create": Capability.LOG_CALLS}

    def _record_about_invoices(self, service, customer, numbers: list[str], **record):
        """An excuse or complaint about the customer's invoices, named by number (looked up inside it)."""
        invoices = invoices_numbered(customer=customer, numbers=numbers)
        return service(
            customer=customer, invoices=invoices, today=local_today(), actor=self.request.user, **record
        )


@extend_schema_view(
    list=extend_schema(summary="List interactions"),
    retrieve=extend_schema(summary="One interaction"),
    create=extend_schema(
        summary="Log a call and what came of it",
        description="A promise or plan becomes an agreement, an excuse and a complaint are recorded against "
        "the invoices, the customer's open call tasks due today are done, and a next action date becomes "
        "a task.",
        request=InteractionWriteSerializer,
        responses={201: InteractionSerializer},
    ),
)
class InteractionViewSet(CallsViewSet):
    """Contacts with customers: calls, emails, letters, visits."""

    queryset = Interaction.objects.select_related("customer", "user")
    serializer_class = InteractionSerializer
    write_serializer_class = InteractionWriteSerializer
    filterset_class = InteractionFilterSet
    ordering_fields = ["occurred_at", "minutes_spent", "id"]
    ordering = ["-occurred_at", "-id"]

    def create_record(
        self, *, customer, invoices, contact=None, promise=None, plan=(), excuse=None, complaint=None, **call
    ) -> Interaction:
        """The call as the browser's form gives it: invoices and contact looked up in the customer."""
        return services.log_call(
            customer=customer,
            user=self.request.user,
            call=services.CallLog(
                invoices=invoices_numbered(customer=customer, numbers=invoices),
                contact=None if contact is None else contact_of(customer=customer, contact_id=contact),
                promise=InstalmentTerms(**promise) if promise else None,
                plan=[InstalmentTerms(**terms) for terms in plan],
                excuse=services.ExcuseInput(**excuse) if excuse else None,
                complaint=services.ComplaintInput(**complaint) if complaint else None,
                **call,
            ),
            today=local_today(),
        )


@extend_schema_view(
    list=extend_schema(summary="List excuses"),
    retrieve=extend_schema(summary="One excuse"),
    create=extend_schema(
        summary="Record an excuse", request=ExcuseWriteSerializer, responses={201: ExcuseSerializer}
    ),
)
class ExcuseViewSet(CallsViewSet):
    """Reasons customers gave for not paying."""

    queryset = Excuse.objects.select_related("customer").prefetch_related("invoices")
    serializer_class = ExcuseSerializer
    write_serializer_class = ExcuseWriteSerializer
    filterset_class = ExcuseFilterSet
    ordering_fields = ["given_on", "id"]
    ordering = ["-given_on", "-id"]

    def create_record(self, *, customer, invoices, **excuse) -> Excuse:
        return self._record_about_invoices(
            services.record_excuse, customer, invoices, excuse=services.ExcuseInput(**excuse)
        )


@extend_schema_view(
    list=extend_schema(summary="List complaints"),
    retrieve=extend_schema(summary="One complaint"),
    create=extend_schema(
        summary="Open a complaint (dispute)",
        description="Its invoices become disputed, which pauses their reminders.",
        request=ComplaintWriteSerializer,
        responses={201: ComplaintSerializer},
    ),
)
class ComplaintViewSet(WordsWithheldMixin, CallsViewSet):
    """Disputes about invoices, open or resolved."""

    queryset = Complaint.objects.select_related("customer", "resolved_by").prefetch_related("invoices")
    serializer_class = ComplaintSerializer
    words_withheld_serializer_class = DisputeSerializer
    write_serializer_class = ComplaintWriteSerializer
    filterset_class = ComplaintFilterSet
    ordering_fields = ["opened_on", "resolved_on", "id"]
    ordering = ["-opened_on", "-id"]
    read_capability = Capability.READ_DISPUTES
    write_capabilities = {"create": Capability.LOG_CALLS, "resolve": Capability.RESOLVE_COMPLAINTS}

    def create_record(self, *, customer, invoices, **complaint) -> Complaint:
        return self._record_about_invoices(
            services.open_complaint, customer, invoices, complaint=services.ComplaintInput(**complaint)
        )

    @extend_schema(summary="Resolve a complaint as upheld or rejected", request=ResolutionSerializer,
                   responses={200: ComplaintSerializer})  # fmt: skip
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        complaint = self.get_object()
        serializer = ResolutionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.resolve_complaint(
            complaint=complaint, user=request.user, today=local_today(), **serializer.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=complaint.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="List tasks"),
    retrieve=extend_schema(summary="One task"),
    create=extend_schema(
        summary="Create a task", request=TaskWriteSerializer, responses={201: TaskSerializer}
    ),
)
class TaskViewSet(CallsViewSet):
    """Work for collectors: calls to make, promises to follow up."""

    queryset = Task.objects.select_related("customer", "assigned_to")
    serializer_class = TaskSerializer
    write_serializer_class = TaskWriteSerializer
    filterset_class = TaskFilterSet
    ordering_fields = ["due_on", "id"]
    ordering = ["due_on", "id"]
    write_capabilities = {"create": Capability.LOG_CALLS, "complete": Capability.LOG_CALLS}

    def create_record(self, **task) -> Task:
        return services.create_task(actor=self.request.user, **task)

    @extend_schema(summary="Mark a task done or cancelled", request=TaskCompletionSerializer,
                   responses={200: TaskSerializer})  # fmt: skip
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = self.get_object()
        serializer = TaskCompletionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.complete_task(task=task, status=serializer.validated_data["status"], actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=task.pk)).data)
