"""What every app's browser pages share: the role check, the day a page is about, and the one
portfolio-scoped list view every list page is (invoices, agreements, customers, complaints, reminders).

Pages live in their own app's views.py and urls.py; they import from here (customers is the lowest
app, so every app may), never from another app's views.
"""

from collections.abc import Callable
from datetime import date
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from django.views.generic import ListView

from .access import Capability, may, scope_to_portfolio


def today_for(request) -> date:
    """The day the pages are about: the local date, unless settings.CREDITDESK_TODAY pins one
    (tests move the date through it; it is never set in production)."""
    return getattr(settings, "CREDITDESK_TODAY", None) or timezone.localdate()


def requires(*capabilities: Capability):
    """Only users holding every one of these capabilities may open the view; others get 403
    (anonymous users go to the login page). The one role check of every page."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not all(may(request.user, capability) for capability in capabilities):
                raise PermissionDenied("Your role cannot open this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


class PortfolioListView(ListView):
    """A list page: the rows the user may see (their portfolio for a collector), filtered by the
    app's FilterSet, in a fixed order, a page of `settings.CREDITDESK_PAGE_SIZE` at a time.

    A page names `selector` (called with `user=` and `today=`) or `queryset` (scoped here through
    `customer_path`), `filterset_class`, `ordering`, `template_name` and `capabilities`; `decorate`
    adds per-row figures to the shown page only. Templates get `filter`, `page` and `query` (the
    filters without the page number, for the pagination links).
    """

    selector: Callable[..., QuerySet] | None = None
    customer_path = "customer"
    filterset_class: type | None = None
    capabilities: tuple[Capability, ...] = (Capability.BROWSE_PAGES,)
    dated_filterset = False  # the FilterSet takes `today=` (e.g. "overdue" depends on the day)

    def dispatch(self, request, *args, **kwargs):
        return requires(*self.capabilities)(super().dispatch)(request, *args, **kwargs)

    def get_paginate_by(self, queryset) -> int:
        return self.paginate_by or settings.CREDITDESK_PAGE_SIZE

    def get_queryset(self) -> QuerySet:
        self.today = today_for(self.request)
        if self.selector is not None:
            rows = type(self).selector(user=self.request.user, today=self.today)
        else:
            rows = scope_to_portfolio(self.queryset.all(), self.request.user, self.customer_path)
        extra = {"today": self.today} if self.dated_filterset else {}
        self.filterset = self.filterset_class(self.request.GET or None, queryset=rows, **extra)
        return self.filterset.qs.order_by(*self.get_ordering())

    def paginate_queryset(self, queryset, page_size):
        # A page number past the end shows the last page, as every list always did (not a 404).
        paginator = self.get_paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        self.decorate(page.object_list)
        return paginator, page, page.object_list, page.has_other_pages()

    def decorate(self, rows) -> None:
        """Add figures to the rows of the shown page (nothing by default)."""

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop(self.page_kwarg, None)
        context.update(
            filter=self.filterset, page=context["page_obj"], query=query.urlencode(), today=self.today
        )
        return context
