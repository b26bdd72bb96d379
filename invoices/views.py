"""Browser pages of the invoices app: the invoice list."""

from django.db.models import F

from customers.pages import PortfolioListView

from .filters import InvoiceFilterSet
from .models import Invoice


class InvoiceListView(PortfolioListView):
    queryset = Invoice.objects.select_related("customer").annotate(
        open_amount=F("amount") - F("allocated_amount")
    )
    filterset_class = InvoiceFilterSet
    dated_filterset = True
    ordering = ("due_date", "number")
    template_name = "invoices/invoice_list.html"

    def decorate(self, invoices) -> None:
        for invoice in invoices:
            open_days = (self.today - invoice.due_date).days if invoice.open_amount > 0 else 0
            invoice.days_overdue = max(open_days, 0)
