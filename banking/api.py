"""POST /api/v1/bank-statements/: integrators (and credit managers) send a camt.053 or MT940 file.

The same file sent again adds nothing (200 with `new: 0`); a refused file is a 400 naming the line
and element or tag at fault, and nothing is written.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from customers.access import Capability

from .models import BankStatement
from .services import import_statement_file

MAX_FILE_BYTES = 20 * 1024 * 1024


class BankStatementSerializer(serializers.ModelSerializer):
    transactions = serializers.IntegerField(
        source="transactions.count", read_only=True, help_text="How many transactions it brought."
    )

    class Meta:
        model = BankStatement
        fields = [
            "id",
            "account",
            "statement_id",
            "format",
            "created_on",
            "file_name",
            "imported_at",
            "transactions",
        ]
        extra_kwargs = {
            "id": {"help_text": "CreditDesk's id."},
            "account": {"help_text": "The IBAN (or bank account id) the statement reports on."},
            "statement_id": {
                "help_text": "The bank's id of the statement (MT940: :20: reference / :28C: number)."
            },
            "format": {"help_text": "camt.053 or mt940."},
            "created_on": {"help_text": "The day the bank made the statement."},
            "file_name": {"help_text": "The name of the file it came in."},
            "imported_at": {"help_text": "When CreditDesk imported it."},
        }


class StatementUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A camt.053 (001.02 or 001.08) XML file or an MT940 file.")

    def validate_file(self, value):
        if value.size > MAX_FILE_BYTES:
            raise serializers.ValidationError(f"At most {MAX_FILE_BYTES // (1024 * 1024)} MB per file.")
        return value


class ImportResultSerializer(serializers.Serializer):
    statements = serializers.IntegerField(help_text="Statements in the file.")
    new = serializers.IntegerField(help_text="Transactions imported now.")
    known = serializers.IntegerField(help_text="Transactions already imported before: left as they were.")
    applied = serializers.IntegerField(help_text="Credits matched surely enough to be applied at once.")
    queued = serializers.IntegerField(help_text="Credits waiting in the queue with suggestions.")
    unidentified = serializers.IntegerField(help_text="Credits whose payer was not recognised.")
    debits = serializers.IntegerField(help_text="Debits: kept, never matched.")


class BankStatementViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Bank statements imported, and the upload that imports more."""

    queryset = BankStatement.objects.order_by("-pk")
    serializer_class = BankStatementSerializer
    parser_classes = [MultiPartParser]
    read_capability = Capability.READ_LEDGER
    write_capabilities = {"create": Capability.SYNC_LEDGER}

    @extend_schema(
        summary="Import a bank statement file and apply the payments it matches",
        request={"multipart/form-data": StatementUploadSerializer},
        responses={201: ImportResultSerializer, 200: ImportResultSerializer},
    )
    def create(self, request, *args, **kwargs):
        upload = StatementUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        result = import_statement_file(content=file.read(), file_name=file.name, actor=request.user)
        body = ImportResultSerializer(result).data
        return Response(body, status=status.HTTP_201_CREATED if result.new else status.HTTP_200_OK)
