"""Read-only API over dunning: the policies (escalation ladders) and the reminders a run created.

Fields are listed explicitly, so columns the dunning engine adds later do not leak out unannounced.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from customers.access import Capability
from customers.api import PortfolioScopedMixin

from .filters import PolicyFilterSet, ReminderFilterSet
from .models import Policy, Reminder, ReminderInvoice, Step


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = Step
        fields = ["id", "offset_days", "channel", "tone", "action", "subject_template"]
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "channel": {"help_text": "email, letter, call_task or sms."},
            "tone": {"help_text": "How firm the words are."},
            "action": {"help_text": "What else happens at this step (call task, credit hold, agency)."},
            "subject_template": {"help_text": "Subject line, as a Django template."},
        }


class PolicySerializer(serializers.ModelSerializer):
    segment = serializers.SlugRelatedField(
        allow_null=True, slug_field="name", read_only=True, help_text="The segment it serves."
    )
    steps = StepSerializer(many=True, read_only=True, help_text="The escalation ladder, by offset.")

    class Meta:
        model = Policy
        fields = ["id", "name", "segment", "is_default", "business_days_only", "steps"]
        extra_kwargs = {"id": {"help_text": "CreditDesk's id."}, "name": {"help_text": "The policy's name."}}


class ReminderLineSerializer(serializers.ModelSerializer):
    invoice = serializers.CharField(source="invoice.number", help_text="The invoice number.")

    class Meta:
        model = ReminderInvoice
        fields = ["invoice", "open_amount"]
        extra_kwargs = {"open_amount": {"help_text": "What was open on it on the day of the reminder."}}


class ReminderSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(
        source="customer.account_number", help_text="The customer's account number."
    )
    customer_id = serializers.IntegerField(help_text="CreditDesk's id of the customer.")
    policy = serializers.CharField(source="step.policy.name", help_text="The policy the step belongs to.")
    offset_days = serializers.IntegerField(source="step.offset_days", help_text="The step's days from due.")
    lines = ReminderLineSerializer(many=True, read_only=True, help_text="The invoices it lists.")

    class Meta:
        model = Reminder
        fields = [
            "id", "customer", "customer_id", "policy", "offset_days", "run_on", "channel", "tone", "subject",
            "status", "attempts", "last_error", "sent_at", "created_at", "lines",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "created_at": {"help_text": "When it was created."},
            "run_on": {"help_text": "The day of the dunning run that created it."},
            "subject": {"help_text": "Subject as sent."},
            "status": {"help_text": "pending, sent or failed."},
            "attempts": {"help_text": "Delivery attempts so far."},
            "last_error": {"help_text": "Why the last attempt failed."},
            "sent_at": {"help_text": "When it was delivered."},
        }


@extend_schema_view(
    list=extend_schema(summary="List dunning policies"), retrieve=extend_schema(summary="One policy")
)
class PolicyViewSet(viewsets.ReadOnlyModelViewSet):
    """The escalation ladders per segment (edited by credit managers in the admin)."""

    queryset = Policy.objects.select_related("segment").prefetch_related("steps")
    serializer_class = PolicySerializer
    filterset_class = PolicyFilterSet
    ordering_fields = ["name", "id"]
    ordering = ["-is_default", "name"]
    read_capability = Capability.READ_LEDGER


@extend_schema_view(
    list=extend_schema(summary="List reminders"), retrieve=extend_schema(summary="One reminder")
)
class ReminderViewSet(PortfolioScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Reminders the dunning run created, with the invoices each listed and how it was delivered."""

    queryset = Reminder.objects.select_related("customer", "step__policy").prefetch_related("lines__invoice")
    serializer_class = ReminderSerializer
    filterset_class = ReminderFilterSet
    ordering_fields = ["run_on", "id"]
    ordering = ["-run_on", "-id"]
    read_capability = Capability.READ_LEDGER
