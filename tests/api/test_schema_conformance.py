"""What schemathesis 4 found, each pinned by a plain test: answers stay inside the published schema."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.validators import validate_email
from django.utils import timezone

from calls.models import Interaction
from calls.services import CallLog, log_call
from customers.models import Contact, Customer
from tests.factories import TODAY, CustomerFactory, InteractionFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


# -- OPTIONS on the lookups by account number and invoice number -------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/customers/by-account/{}/", "/api/v1/invoices/by-number/{}/"])
@pytest.mark.parametrize("exists", [True, False])
def test_options_on_a_lookup_by_number_describes_it_instead_of_a_server_error(as_manager, path, exists):
    invoice = InvoiceFactory(number="INV-1", customer=CustomerFactory(account_number="ACC-1"))
    key = ("ACC-1" if "customers" in path else invoice.number) if exists else "NOPE"
    response = as_manager.options(path.format(key))
    assert response.status_code == 200
    assert response.json()["name"]


# -- an unknown address under /api/ ------------------------------------------------------------------


def test_an_api_address_that_matches_no_route_is_a_json_404(as_manager):
    response = as_manager.get("/api/v1/customers/1.2e-5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_browser_page_that_does_not_exist_is_still_an_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# -- when a call can have happened -------------------------------------------------------------------


def test_a_call_before_the_customer_existed_is_refused_with_a_message_on_occurred_at(collector):
    customer = CustomerFactory()
    call = CallLog(outcome="no_answer", occurred_at=customer.created_at - dt.timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        log_call(customer=customer, user=collector, call=call, today=TODAY)
    assert "before the customer existed" in refused.value.message_dict["occurred_at"][0]
    assert not Interaction.objects.exists()


def test_a_call_in_the_future_is_refused_but_a_little_clock_skew_is_not(collector):
    customer = CustomerFactory()
    now = timezone.now()
    late = CallLog(outcome="no_answer", occurred_at=now + dt.timedelta(hours=1))
    with pytest.raises(ValidationError) as refused:
        log_call(customer=customer, user=collector, call=late, today=TODAY, now=now)
    assert refused.value.message_dict["occurred_at"] == ["A call cannot be in the future."]
    skewed = CallLog(outcome="no_answer", occurred_at=now + dt.timedelta(minutes=2))
    assert log_call(customer=customer, user=collector, call=skewed, today=TODAY, now=now).pk


def test_the_api_refuses_a_call_in_the_year_187(as_manager):
    customer = CustomerFactory(account_number="ACC-1")
    body = {
        "customer": customer.account_number,
        "outcome": "no_answer",
        "occurred_at": "0187-05-01T10:00:00Z",
    }
    response = as_manager.post("/api/v1/interactions/", body, format="json")
    assert response.status_code == 400
    assert "before the customer existed" in response.json()["occurred_at"][0]
    assert not Interaction.objects.exists()


# -- e-mail addresses are ASCII, as `format: email` says ---------------------------------------------


def test_demo_mailboxes_are_transliterated_to_ascii():
    from creditdesk.demo.ledger import ascii_mailbox

    assert ascii_mailbox("López") == "lopez"
    assert ascii_mailbox("Daan.Müller", keep=".") == "daan.muller"


def test_every_demo_email_address_is_ascii_and_valid():
    call_command(
        "seed_demo", "--customers=60", "--seed=7", f"--today={TODAY}", verbosity=0, stdout=io.StringIO()
    )
    addresses = [
        *Customer.objects.values_list("email", flat=True),
        *Contact.objects.values_list("email", flat=True),
    ]
    assert len(addresses) > 60
    for address in addresses:
        assert address.isascii(), address
        validate_email(address)


def test_an_address_with_a_non_ascii_domain_is_kept_in_its_ascii_form(as_manager):
    customer = CustomerFactory(account_number="ACC-1")
    body = {"customer": "ACC-1", "name": "Anna Köhler", "email": "anna@köln.example"}
    response = as_manager.post("/api/v1/contacts/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["email"] == "anna@xn--kln-sna.example"
    assert customer.contacts.get().email == "anna@xn--kln-sna.example"
    put = as_manager.put("/api/v1/customers/by-account/ACC-1/", {"email": "ap@müller.example"}, format="json")
    assert put.json()["email"] == "ap@xn--mller-kva.example"


def test_an_address_with_a_non_ascii_mailbox_name_is_refused(as_manager):
    CustomerFactory(account_number="ACC-1")
    body = {"customer": "ACC-1", "name": "Zoë", "email": "zoë@example.com"}
    response = as_manager.post("/api/v1/contacts/", body, format="json")
    assert response.status_code == 400
    assert "email" in response.json()


# -- PATCH credit-control with nothing in it ---------------------------------------------------------


@pytest.mark.parametrize("body", [{}, None])
def test_a_credit_control_patch_naming_nothing_is_a_400_not_a_silent_success(as_manager, body):
    customer = CustomerFactory()
    response = as_manager.patch(f"/api/v1/customers/{customer.pk}/credit-control/", body)
    assert response.status_code == 400
    assert "Send at least one of: credit_limit, segment, collector" in response.json()["non_field_errors"][0]


def test_a_form_encoded_credit_control_patch_leaves_the_holds_it_does_not_name(as_manager):
    customer = CustomerFactory(credit_hold=True, prepayment_only=True)
    response = as_manager.patch(
        f"/api/v1/customers/{customer.pk}/credit-control/", {"dunning_paused_until": "2026-12-31"}
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.credit_hold and customer.prepayment_only
    assert customer.dunning_paused_until == dt.date(2026, 12, 31)


def test_the_schema_documents_the_415_a_malformed_body_gets(as_manager):
    schema = as_manager.get("/api/v1/schema/?format=json").json()
    assert "415" in schema["paths"]["/api/v1/payments/"]["post"]["responses"]


def test_an_interaction_filter_with_an_offset_postgresql_refuses_is_answered_not_a_server_error(as_manager):
    interaction = InteractionFactory(occurred_at=dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC))
    # 2026-11-20 00:00 at -18:17 is 18:17 UTC: a valid instant, with an offset beyond PostgreSQL's 15:59.
    after = as_manager.get("/api/v1/interactions/", {"occurred_at_after": "2026-11-19T23:00:00-18:17"})
    assert after.status_code == 200, after.content
    assert [row["id"] for row in after.json()["results"]] == []
    before = as_manager.get("/api/v1/interactions/", {"occurred_at_before": "2026-11-20T00:00:00-18:17"})
    assert [row["id"] for row in before.json()["results"]] == [interaction.pk]
    overflow = as_manager.get("/api/v1/interactions/", {"occurred_at_after": "0001-01-01T00:00:00+05:00"})
    assert overflow.status_code == 400 and "occurred_at" in str(overflow.json())
