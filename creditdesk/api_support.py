"""What every /api/v1/ endpoint shares: role permissions, idempotent POSTs, errors and their schema.

The apps' viewsets know their own resources; `creditdesk.api` wraps each one with `api_viewset`
when it registers it, so the rules here hold for every endpoint without the apps importing the
project package.
"""

import hashlib

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from customers.access import Capability, may

from .middleware import MESSAGE as DATABASE_UNAVAILABLE
from .middleware import RETRY_AFTER_SECONDS, is_database_unavailable
from .models import IdempotencyRecord

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


class RolePermissions(permissions.BasePermission):
    """The capability table (customers.access) decides what each role may read and write.

    A viewset names the capability its reads need (`read_capability`, for GET, HEAD and OPTIONS) and,
    per writing action, the capability it needs (`write_capabilities = {"create": Capability.X}`). A
    writing action it does not name is refused to everyone, so a new endpoint is closed until it is
    named. Which rows a collector sees is the viewset's business (scope_to_portfolio): another
    portfolio is a 404. The services check the same table again, whoever calls them.
    """

    message = "Your role may not do this."

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            capability = getattr(view, "read_capability", None)
        else:
            capability = getattr(view, "write_capabilities", {}).get(getattr(view, "action", None))
        if capability is None:
            return False
        if not may(user, capability):
            what = Capability(capability).label
            self.message = f"Your role may not do this ({what[0].lower()}{what[1:]})."
            return False
        return True


def handle_api_exception(exc, context):
    """DRF's handler, taught the domain's errors: a service's ValidationError is a 400 per field.

    A database refusal that validation did not foresee (a race on a unique key) is a 409, never a 500;
    a database that is down or restarting is a 503 with Retry-After.
    """
    if is_database_unavailable(exc):
        set_rollback()
        return Response(
            {"detail": DATABASE_UNAVAILABLE},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(detail=django_error_detail(exc))
    elif isinstance(exc, IntegrityError):
        return Response(
            {"detail": "This conflicts with data written meanwhile; fetch it and try again."},
            status=status.HTTP_409_CONFLICT,
        )
    elif isinstance(exc, DjangoPermissionDenied | Http404):
        pass  # DRF's own handler knows these
    return exception_handler(exc, context)


def django_error_detail(error: DjangoValidationError):
    if hasattr(error, "error_dict"):
        return {("non_field_errors" if field == "__all__" else field): messages
                for field, messages in error.message_dict.items()}  # fmt: skip
    return {"non_field_errors": error.messages}


class IdempotentPostMixin:
    """A POST with an Idempotency-Key is done once per user and key; a retry gets the first answer.

    Only a successful answer is kept: a refused request wrote nothing, so its key may be used again
    with a corrected body. The same key with a different body is a 422, never a silent replay.
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST" and request.headers.get(IDEMPOTENCY_HEADER) is not None:
            handler = getattr(self, "post", None)
            if handler is not None:
                self.post = self.idempotent(handler)

    def idempotent(self, handler):
        def run_once(request, *args, **kwargs):
            key = request.headers[IDEMPOTENCY_HEADER].strip()
            if not key or len(key) > 255 or not key.isprintable():
                return Response(
                    {IDEMPOTENCY_HEADER: ["Give a key of 1 to 255 printable characters, e.g. a UUID."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            fingerprint = request_fingerprint(request)
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        record = IdempotencyRecord.objects.create(
                            user=request.user,
                            key=key,
                            method=request.method,
                            path=request.path[:500],
                            request_fingerprint=fingerprint,
                        )
                except IntegrityError:
                    return replay(IdempotencyRecord.objects.get(user=request.user, key=key), fingerprint)
                response = handler(request, *args, **kwargs)
                if not status.is_success(response.status_code):
                    transaction.set_rollback(True)
                    return response
                record.status_code = response.status_code
                record.response_body = response.data
                record.save(update_fields=["status_code", "response_body"])
                return response

        return run_once


def request_fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_fingerprint != fingerprint:
        return Response(
            {
                "detail": f"The {IDEMPOTENCY_HEADER} {record.key!r} was already used for a different request "
                f"({record.method} {record.path}); use a new key for a new request."
            },
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(record.response_body, status=record.status_code, headers={REPLAY_HEADER: "true"})


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words.")


VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "A list of messages per field; `non_field_errors` for the request as a whole. "
    "Nested items (allocations, instalments, bulk items) are reported at their position.",
    "additionalProperties": {},
}


class CreditDeskAutoSchema(AutoSchema):
    """Every operation documents its error answers and, for POST, the Idempotency-Key header."""

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description="Any unique string (a UUID) per request: a retry with the same key is not "
                    "done again but answered with the first answer (header Idempotent-Replayed: true).",
                )
            )
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {
            "401": "Not authenticated: send `Authorization: Token <key>` or log in.",
            "403": "Your role may not do this.",
            "429": "Too many requests: wait the seconds in the Retry-After header.",
        }
        if "{" in self.path:
            errors["404"] = "Not found, or not in your portfolio."
        elif self._is_list_view():
            errors["404"] = "No such page (page number past the end, or a stale cursor)."
        if self.method in ("POST", "PUT", "PATCH"):
            errors["409"] = "Conflicts with data written at the same time; fetch and retry."
        if self.method == "POST":
            errors["422"] = f"This {IDEMPOTENCY_HEADER} was used for a different request."
        for code, description in errors.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code] = {**response, "description": description}
        takes_input = self.method in ("POST", "PUT", "PATCH") or self._is_list_view()
        if takes_input or self.get_override_parameters():
            if "400" not in responses:
                response = self._get_response_for_code(VALIDATION_ERROR_SCHEMA, "400", direction=direction)
                responses["400"] = {**response, "description": "Invalid input or filter: messages per field."}
        return responses


def api_viewset(viewset):
    """The viewset as /api/v1/ serves it: role permissions, idempotent POSTs, documented errors."""
    return type(
        viewset.__name__,
        (IdempotentPostMixin, viewset),
        {
            "__module__": viewset.__module__,
            "__doc__": viewset.__doc__,
            "permission_classes": [RolePermissions],
        },
    )
