"""The /api/v1/ router: each app's viewsets, wrapped by `api_viewset` (roles, idempotent POSTs,
documented errors); the OpenAPI schema and Swagger UI are served locally (no CDN).

To add endpoints: `register("prefix", SomeViewSet)` below; plain APIViews go in `urlpatterns`.
"""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from agreements.api import AgreementViewSet
from banking.api import BankStatementViewSet
from calls.api import ComplaintViewSet, ExcuseViewSet, InteractionViewSet, TaskViewSet
from customers.api import ContactViewSet, CustomerViewSet, SegmentViewSet
from dunning.api import PolicyViewSet, ReminderViewSet
from invoices.api import InvoiceViewSet, PaymentViewSet

from .api_support import api_viewset

router = DefaultRouter()


def register(prefix: str, viewset, basename: str | None = None) -> None:
    router.register(prefix, api_viewset(viewset), basename=basename or prefix.rstrip("s").replace("-", "_"))


register("customers", CustomerViewSet, "customer")
register("contacts", ContactViewSet, "contact")
register("segments", SegmentViewSet, "segment")
register("invoices", InvoiceViewSet, "invoice")
register("payments", PaymentViewSet, "payment")
register("agreements", AgreementViewSet, "agreement")
register("interactions", InteractionViewSet, "interaction")
register("excuses", ExcuseViewSet, "excuse")
register("complaints", ComplaintViewSet, "complaint")
register("tasks", TaskViewSet, "task")
register("reminders", ReminderViewSet, "reminder")
register("dunning-policies", PolicyViewSet, "policy")
register("bank-statements", BankStatementViewSet, "bank_statement")

# Swagger UI with its script served as a file (the site's Content-Security-Policy forbids inline script);
# the UI sets inline styles as it draws, so this page alone allows them.
allow_inline_styles = csp_update({"style-src": [UNSAFE_INLINE]})
api_docs = allow_inline_styles(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs, name="api-docs"),
    path("reports/", include("reports.api")),
    path("", include(router.urls)),
]
