"""Browser pages of the agreements app: the list of promises and payment plans."""

from customers.pages import PortfolioListView

from .filters import AgreementFilterSet
from .models import Agreement


class AgreementListView(PortfolioListView):
    queryset = Agreement.objects.select_related("customer", "made_by").prefetch_related("instalments")
    filterset_class = AgreementFilterSet
    ordering = ("-made_on", "-pk")
    template_name = "agreements/agreement_list.html"
