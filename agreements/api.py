"""The API over agreements: promises to pay and payment plans with their instalments."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers.access import Capability
from customers.api import (
    CustomerByAccountField,
    PortfolioScopedMixin,
    WordsWithheldMixin,
    WritesThroughServicesMixin,
    local_today,
)
from invoices.api import MONEY
from invoices.selectors import invoices_numbered

from . import services
from .choices import AgreementKind
from .filters import AgreementFilterSet
from .models import Agreement, Instalment


class InstalmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instalment
        fields = ["sequence", "due_date", "amount", "state", "settled_on"]
        extra_kwargs = {
            "sequence": {"help_text": "1 for the first date, 2 for the next..."},
            "due_date": {"help_text": "Date the customer promised to pay this part."},
            "amount": {"help_text": "What they promised to pay on that date."},
            "state": {"help_text": "pending, paid or missed."},
            "settled_on": {"help_text": "When it was paid or found missed."},
        }


class AgreementSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(
        source="customer.account_number", help_text="The customer's account number."
    )
    customer_id = serializers.IntegerField(help_text="CreditDesk's id of the customer.")
    made_by = serializers.SlugRelatedField(
        allow_null=True, slug_field="username", read_only=True, help_text="Who recorded it."
    )
    invoices = serializers.SlugRelatedField(
        slug_field="number", many=True, read_only=True, help_text="Numbers of the invoices it covers."
    )
    instalments = InstalmentSerializer(many=True, read_only=True, help_text="The dates and amounts promised.")

    class Meta:
        model = Agreement
        fields = [
            "id", "customer", "customer_id", "kind", "state", "currency", "total_amount", "invoices",
            "instalments", "made_on", "made_by", "grace_days", "closed_on", "notes", "created_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "kind": {"help_text": "promise (one date) or plan (several)."},
            "state": {"help_text": "active, kept, broken or cancelled."},
            "currency": {"help_text": "ISO 4217 code of the invoices it covers."},
            "total_amount": {"help_text": "Sum of the instalments."},
            "made_on": {"help_text": "The day the customer committed."},
            "grace_days": {"help_text": "Days after an instalment's date before it counts as missed."},
            "closed_on": {"help_text": "When it was kept, broken or cancelled."},
            "notes": {"help_text": "What was said (not shown to integrators)."},
            "created_at": {"help_text": "When it was recorded."},
        }


class AgreementTermsSerializer(AgreementSerializer):
    """An agreement as an integrator reads it: its terms and state, not the notes of what was said."""

    class Meta(AgreementSerializer.Meta):
        fields = [f for f in AgreementSerializer.Meta.fields if f != "notes"]
        read_only_fields = fields


class InstalmentTermsSerializer(serializers.Serializer):
    due_date = serializers.DateField(help_text="Date of payment (YYYY-MM-DD), not before today.")
    amount = serializers.DecimalField(**MONEY, help_text="Amount promised for that date, positive.")


class AgreementWriteSerializer(serializers.Serializer):
    """The body of POST /agreements/: a promise (one instalment) or a plan (two or more)."""

    customer = CustomerByAccountField()
    kind = serializers.ChoiceField(choices=AgreementKind.choices, help_text="promise or plan.")
    instalments = InstalmentTermsSerializer(many=True, help_text="Dates and amounts; one for a promise.")
    invoices = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        default=list,
        help_text="Numbers of the customer's invoices it covers (one currency).",
    )
    grace_days = serializers.IntegerField(min_value=0, max_value=60, default=3, help_text="Days of grace.")
    notes = serializers.CharField(required=False, allow_blank=True, default="", help_text="What was said.")


@extend_schema_view(
    list=extend_schema(summary="List agreements"),
    retrieve=extend_schema(summary="One agreement, with its instalments"),
    create=extend_schema(
        summary="Record a promise to pay or a payment plan",
        request=AgreementWriteSerializer,
        responses={201: AgreementSerializer},
    ),
)
class AgreementViewSet(
    WritesThroughServicesMixin, WordsWithheldMixin, PortfolioScopedMixin, mixins.ListModelMixin,
    mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    """What customers committed to, and whether they kept it."""

    queryset = Agreement.objects.select_related("customer", "made_by").prefetch_related(
        "invoices", "instalments"
    )
    serializer_class = AgreementSerializer
    write_serializer_class = AgreementWriteSerializer
    words_withheld_serializer_class = AgreementTermsSerializer
    filterset_class = AgreementFilterSet
    ordering_fields = ["made_on", "total_amount", "id"]
    ordering = ["-made_on", "-id"]
    read_capability = Capability.READ_DISPUTES
    write_capabilities = {"create": Capability.LOG_CALLS, "cancel": Capability.LOG_CALLS}

    def create_record(self, *, customer, instalments, invoices, **terms) -> Agreement:
        """The invoices are looked up in the named customer only (who is in the user's portfolio), so
        another portfolio's invoice and an unknown number get the same answer."""
        return services.create_agreement(
            customer=customer,
            instalments=[services.InstalmentTerms(t["due_date"], t["amount"]) for t in instalments],
            invoices=invoices_numbered(customer=customer, numbers=invoices),
            made_on=local_today(),
            made_by=self.request.user,
            **terms,
        )

    @extend_schema(summary="Cancel an active agreement; the chase resumes", request=None,
                   responses={200: AgreementSerializer})  # fmt: skip
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        agreement = services.cancel_agreement(
            agreement=self.get_object(), today=local_today(), actor=request.user
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=agreement.pk)).data)
