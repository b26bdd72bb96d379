"""customers/pages.py, the pieces every app's pages share: the `requires` role check and the
portfolio-scoped `PortfolioListView` (seen through the invoice and complaint lists)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from customers.access import Capability
from customers.pages import requires
from tests.factories import ComplaintFactory, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


@requires(Capability.MANAGE_SETTINGS)
def settings_only(request):
    return HttpResponse("opened")


def get_as(user):
    request = RequestFactory().get("/somewhere/")
    request.user = user
    return settings_only(request)


def test_requires_opens_the_view_to_a_role_holding_the_capability(credit_manager):
    response = get_as(credit_manager)
    assert response.status_code == 200 and response.content == b"opened"


def test_requires_refuses_a_role_without_the_capability(collector):
    with pytest.raises(PermissionDenied, match="Your role cannot open this page."):
        get_as(collector)


def test_requires_sends_an_anonymous_user_to_the_login_page():
    response = get_as(AnonymousUser())
    assert response.status_code == 302
    assert response.url.startswith(reverse("login")) and "next=/somewhere/" in response.url


def test_a_list_page_is_403_for_a_role_without_browse_pages_and_a_login_redirect_for_anonymous(
    client, integrator
):
    url = reverse("invoices:invoice-list")
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("login"))
    client.force_login(integrator)
    assert client.get(url).status_code == 403


def test_the_invoice_list_shows_a_collector_only_their_portfolio(client, collector, credit_manager):
    mine = InvoiceFactory(customer=CustomerFactory(collector=collector))
    theirs = InvoiceFactory(customer=CustomerFactory())
    client.force_login(collector)
    assert [invoice.pk for invoice in client.get(reverse("invoices:invoice-list")).context["page"]] == [
        mine.pk
    ]
    client.force_login(credit_manager)
    shown = {invoice.pk for invoice in client.get(reverse("invoices:invoice-list")).context["page"]}
    assert shown == {mine.pk, theirs.pk}


def test_the_complaint_list_shows_a_collector_only_their_portfolio(client, collector):
    mine = ComplaintFactory(customer=CustomerFactory(collector=collector))
    ComplaintFactory(customer=CustomerFactory())
    client.force_login(collector)
    response = client.get(reverse("calls:complaint-list"))
    assert response.status_code == 200
    assert [complaint.pk for complaint in response.context["page"]] == [mine.pk]
