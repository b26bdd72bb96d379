# ruff: noqa: E501  (the table below is one URL per line, easier to read than wrapped)
"""A matrix that cannot miss a page: every URL pattern, browser and API, as every role and anonymous.

One written table (EXPECTED) says what each role gets from each URL on a ledger with two collectors'
portfolios: "ok" (allowed: any answer but a refusal), 403, 404 (outside the collector's portfolio),
"login" (a redirect to sign in) or 401 (the API, anonymous). Detail URLs name the OTHER collector's
records, so the signed-in collector must get 404. A URL pattern Django serves that is missing from the
table fails `test_every_url_pattern_is_in_the_table`, so no new page escapes the matrix.
"""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver
from rest_framework.test import APIClient

from banking.models import BankStatement, BankTransaction
from calls.models import PlanProposal
from calls.services import attach_to_complaint
from customers.access import SYSTEM
from customers.models import ContactChange
from tests.api.conftest import client_for
from tests.factories import (
    TODAY,
    AgreementFactory,
    ComplaintFactory,
    ContactFactory,
    CustomerFactory,
    ExcuseFactory,
    InteractionFactory,
    InvoiceFactory,
    PaymentFactory,
    PolicyFactory,
    ProposalFactory,
    ReminderFactory,
    SegmentFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = ("credit_manager", "collector", "finance_lead", "integrator", "no_role", "anonymous")
CM, COL, FIN, INT, NONE = "credit_manager", "collector", "finance_lead", "integrator", "no_role"
SIGNED_IN = (CM, COL, FIN, INT, NONE)
ALL4 = (CM, COL, FIN, INT)


def expect(allowed, anonymous, portfolio: bool) -> dict:
    codes = {role: ("ok" if role in allowed else 403) for role in SIGNED_IN}
    if portfolio and COL in allowed:
        codes[COL] = 404
    return {**codes, "anonymous": anonymous}


def page(*allowed, portfolio=False) -> dict:
    return expect(allowed, "login", portfolio)


def api(*allowed, portfolio=False) -> dict:
    return expect(allowed, 401, portfolio)


ADMIN = {CM: "ok", COL: "login", FIN: "login", INT: "login", NONE: "login", "anonymous": "login"}
OPEN = dict.fromkeys(ROLES, "ok")
NO_SUCH_LINK = dict.fromkeys(ROLES, 404)

# (url name or unnamed route, method, path, expectations). {placeholders} name the other portfolio.
EXPECTED = [
    ("home", "get", "/", page(*SIGNED_IN)),
    ("login", "get", "/login/", OPEN),
    ("logout", "post", "/logout/", OPEN),
    ("password_change", "get", "/password/", page(*SIGNED_IN)),
    ("password_change_done", "get", "/password/done/", page(*SIGNED_IN)),
    ("health", "get", "/health/", OPEN),
    ("admin:index", "get", "/admin/", ADMIN),
    ("admin:*", "get", "/admin/invoices/invoice/", ADMIN),
    ("admin:*", "get", "/admin/invoices/invoice/{invoice}/change/", ADMIN),
    ("admin:*", "post", "/admin/invoices/invoice/{invoice}/change/", ADMIN),
    ("api-token", "get", "/api-token/", page(*SIGNED_IN)),
    # Browser pages
    ("calls:worklist", "get", "/worklist/", page(CM, COL)),
    ("calls:assign", "post", "/worklist/assign/", page(CM)),
    ("calls:customer-list", "get", "/customers/", page(CM, COL, FIN)),
    ("calls:customer-detail", "get", "/customers/{customer}/", page(CM, COL, FIN, portfolio=True)),
    ("calls:customer-changes", "get", "/customers/{customer}/changes/", page(CM)),
    ("calls:customer-timeline", "get", "/customers/{customer}/timeline/", page(CM, COL, FIN, portfolio=True)),
    ("calls:log-call", "post", "/customers/{customer}/calls/", page(CM, COL, portfolio=True)),
    ("calls:customer-statement", "get", "/customers/{customer}/statement.pdf", page(CM, COL, FIN, portfolio=True)),
    ("calls:contact-add", "get", "/customers/{customer}/contacts/new/", page(CM, COL, portfolio=True)),
    ("calls:contact-row", "get", "/customers/{customer}/contacts/{contact}/", page(CM, COL, FIN, portfolio=True)),
    ("calls:contact-edit", "get", "/customers/{customer}/contacts/{contact}/edit/", page(CM, COL, portfolio=True)),
    ("invoices:invoice-list", "get", "/invoices/", page(CM, COL, FIN)),
    ("agreements:agreement-list", "get", "/agreements/", page(CM, COL, FIN)),
    ("calls:complaint-list", "get", "/complaints/", page(CM, COL, FIN)),
    ("calls:complaint-resolve", "post", "/complaints/{complaint}/resolve/", page(CM)),
    ("calls:reminder-list", "get", "/reminders/", page(CM, COL, FIN)),
    ("dunning:reminder-list", "get", "/dunning/reminders/", page(CM, COL, FIN)),
    ("dunning:letter-pdf", "get", "/dunning/reminders/{reminder}/letter.pdf", page(CM, COL, FIN, portfolio=True)),
    ("dunning:reminder-retry", "post", "/dunning/reminders/{reminder}/retry/", page(CM)),
    ("dunning:proposal-list", "get", "/dunning/proposals/", page(CM)),
    ("dunning:proposal-decide", "post", "/dunning/proposals/{proposal}/decide/", page(CM)),
    ("reports:dashboard", "get", "/reports/", page(CM, FIN)),
    ("reports:section", "get", "/reports/section/aging/", page(CM, FIN)),
    ("reports:worth-it", "get", "/reports/worth-it/", page(CM, FIN)),
    ("reports:worth-it", "post", "/reports/worth-it/", page(CM)),
    ("reports:export", "get", "/reports/export/figures.csv", page(CM, FIN)),
    ("reports:pdf", "get", "/reports/report.pdf", page(CM, FIN)),
    ("calls:portal-links-revoke", "post", "/customers/{customer}/portal-links/revoke/", page(CM)),
    ("calls:plan-proposal-decide", "post", "/plan-proposals/{plan_proposal}/decide/", page(CM)),
    ("calls:contact-change-decide", "post", "/contact-changes/{contact_change}/decide/", page(CM, COL, INT, portfolio=True)),
    ("calls:complaint-attachment", "get", "/complaint-files/{attachment}/", page(CM, COL, FIN, portfolio=True)),
    # The customer's portal: the token is the key, not a role; an unknown token is a polite 404 for anyone.
    ("portal:home", "get", "/p/not-a-token/", NO_SUCH_LINK),
    ("portal:invoice", "get", "/p/not-a-token/invoices/{invoice}/", NO_SUCH_LINK),
    ("portal:statement", "get", "/p/not-a-token/statement.pdf", NO_SUCH_LINK),
    ("portal:answer", "post", "/p/not-a-token/answer/promise/", NO_SUCH_LINK),
    # API
    ("api-root", "get", "/api/v1/", api(*SIGNED_IN)),
    ("api-schema", "get", "/api/v1/schema/", OPEN),  # public, so an ERP team can read it before a token
    ("api-docs", "get", "/api/v1/docs/", OPEN),
    ("customer-list", "get", "/api/v1/customers/", api(*ALL4)),
    ("customer-list", "post", "/api/v1/customers/", api(CM, INT)),
    ("customer-detail", "get", "/api/v1/customers/{customer}/", api(*ALL4, portfolio=True)),
    ("customer-by-account", "get", "/api/v1/customers/by-account/ACC-2/", api(*ALL4, portfolio=True)),
    ("customer-by-account", "put", "/api/v1/customers/by-account/ACC-2/", api(CM, INT)),
    ("customer-credit-control", "patch", "/api/v1/customers/{customer}/credit-control/", api(CM)),
    ("customer-history", "get", "/api/v1/customers/{customer}/history/", api(CM)),
    ("contact-list", "get", "/api/v1/contacts/", api(*ALL4)),
    ("contact-list", "post", "/api/v1/contacts/", api(CM, COL, INT)),
    ("contact-detail", "get", "/api/v1/contacts/{contact}/", api(*ALL4, portfolio=True)),
    ("contact-detail", "patch", "/api/v1/contacts/{contact}/", api(CM, COL, INT, portfolio=True)),
    ("contact-detail", "put", "/api/v1/contacts/{contact}/", api(CM, COL, INT, portfolio=True)),
    ("segment-list", "get", "/api/v1/segments/", api(*ALL4)),
    ("segment-list", "post", "/api/v1/segments/", api(CM)),
    ("segment-detail", "get", "/api/v1/segments/{segment}/", api(*ALL4)),
    ("invoice-list", "get", "/api/v1/invoices/", api(*ALL4)),
    ("invoice-list", "post", "/api/v1/invoices/", api(CM, INT)),
    ("invoice-detail", "get", "/api/v1/invoices/{invoice}/", api(*ALL4, portfolio=True)),
    ("invoice-by-number", "get", "/api/v1/invoices/by-number/F-2/", api(*ALL4, portfolio=True)),
    ("invoice-by-number", "put", "/api/v1/invoices/by-number/F-2/", api(CM, INT)),
    ("invoice-bulk", "post", "/api/v1/invoices/bulk/", api(CM, INT)),
    ("invoice-set-status", "post", "/api/v1/invoices/{invoice}/status/", api(CM)),
    ("payment-list", "get", "/api/v1/payments/", api(*ALL4)),
    ("payment-list", "post", "/api/v1/payments/", api(CM, INT)),
    ("payment-detail", "get", "/api/v1/payments/{payment}/", api(*ALL4, portfolio=True)),
    ("payment-bulk", "post", "/api/v1/payments/bulk/", api(CM, INT)),
    ("agreement-list", "get", "/api/v1/agreements/", api(*ALL4)),
    ("agreement-list", "post", "/api/v1/agreements/", api(CM, COL)),
    ("agreement-detail", "get", "/api/v1/agreements/{agreement}/", api(*ALL4, portfolio=True)),
    ("agreement-cancel", "post", "/api/v1/agreements/{agreement}/cancel/", api(CM, COL, portfolio=True)),
    ("interaction-list", "get", "/api/v1/interactions/", api(CM, COL, FIN)),
    ("interaction-list", "post", "/api/v1/interactions/", api(CM, COL)),
    ("interaction-detail", "get", "/api/v1/interactions/{interaction}/", api(CM, COL, FIN, portfolio=True)),
    ("excuse-list", "get", "/api/v1/excuses/", api(CM, COL, FIN)),
    ("excuse-list", "post", "/api/v1/excuses/", api(CM, COL)),
    ("excuse-detail", "get", "/api/v1/excuses/{excuse}/", api(CM, COL, FIN, portfolio=True)),
    ("complaint-list", "get", "/api/v1/complaints/", api(*ALL4)),
    ("complaint-list", "post", "/api/v1/complaints/", api(CM, COL)),
    ("complaint-detail", "get", "/api/v1/complaints/{complaint}/", api(*ALL4, portfolio=True)),
    ("complaint-resolve", "post", "/api/v1/complaints/{complaint}/resolve/", api(CM)),
    ("task-list", "get", "/api/v1/tasks/", api(CM, COL, FIN)),
    ("task-list", "post", "/api/v1/tasks/", api(CM, COL)),
    ("task-detail", "get", "/api/v1/tasks/{task}/", api(CM, COL, FIN, portfolio=True)),
    ("task-complete", "post", "/api/v1/tasks/{task}/complete/", api(CM, COL, portfolio=True)),
    ("reminder-list", "get", "/api/v1/reminders/", api(*ALL4)),
    ("reminder-detail", "get", "/api/v1/reminders/{reminder}/", api(*ALL4, portfolio=True)),
    ("policy-list", "get", "/api/v1/dunning-policies/", api(*ALL4)),
    ("policy-detail", "get", "/api/v1/dunning-policies/{policy}/", api(*ALL4)),
    ("reports-figures", "get", "/api/v1/reports/figures/", api(CM, FIN)),
    ("reports-trend", "get", "/api/v1/reports/trend/", api(CM, FIN)),
    ("reports-worth-it", "get", "/api/v1/reports/worth-it/", api(CM, FIN)),
    ("reports-effort", "get", "/api/v1/reports/effort/", api(CM, FIN)),
    ("reports-excuses", "get", "/api/v1/reports/excuses/", api(CM, FIN)),
    ("reports-forecast", "get", "/api/v1/reports/forecast/", api(CM, FIN)),
    ("reports-early-warning", "get", "/api/v1/reports/early-warning/", api(CM, FIN)),
    ("bank_statement-list", "get", "/api/v1/bank-statements/", api(*ALL4)),
    ("bank_statement-list", "post", "/api/v1/bank-statements/", api(CM, INT)),
    # Cash application (banking/)
    ("banking:upload", "get", "/bank/upload/", page(CM)),
    ("banking:upload", "post", "/bank/upload/", page(CM)),
    ("banking:queue", "get", "/bank/queue/", page(CM, COL)),
    ("banking:confirm", "post", "/bank/queue/{bank_line}/confirm/", page(CM, COL, portfolio=True)),
    ("banking:match", "post", "/bank/queue/{bank_line}/match/", page(CM, COL, portfolio=True)),
]  # fmt: skip

# Patterns deliberately outside the matrix, each with its reason.
EXEMPT = {
    "^media/(?P<path>.*)$": "DEBUG only: letters served by the development server (issue 9 item 4 closes it)",
}


def url_patterns(patterns=None, namespace=None):
    """(name, route) of every pattern Django serves; admin's own pages count as "admin:*"."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part) or None
            yield from url_patterns(pattern.url_patterns, inner)
        elif namespace == "admin" and pattern.name != "index":
            yield "admin:*", str(pattern.pattern)
        elif pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), str(pattern.pattern)
        else:
            yield str(pattern.pattern), str(pattern.pattern)


def test_every_url_pattern_is_in_the_table():
    served = {name for name, _ in url_patterns()}
    tabled = {name for name, *_ in EXPECTED}
    missing = sorted(served - tabled - set(EXEMPT))
    assert not missing, f"URL patterns without a row in EXPECTED (say who may open them): {missing}"
    stale = sorted(tabled - served)
    assert not stale, f"rows in EXPECTED for URLs Django no longer serves: {stale}"


@pytest.fixture
def ledger(db, settings, tmp_path):
    """Two collectors' portfolios; every detail URL names a record of the other one (col2)."""
    collector = UserFactory(username="col", role="collector", is_staff=True)
    other = UserFactory(username="col2", role="collector")
    CustomerFactory(account_number="ACC-1", collector=collector)
    theirs = CustomerFactory(account_number="ACC-2", collector=other, segment=SegmentFactory())
    invoice = InvoiceFactory(number="F-2", customer=theirs)
    complaint = ComplaintFactory(customer=theirs)
    complaint.invoices.set([invoice])
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    attachment = attach_to_complaint(
        complaint=complaint,
        name="proof.pdf",
        content=b"%PDF-1.4",
        content_type="application/pdf",
        actor=SYSTEM,
    )
    proposal = PlanProposal.objects.create(
        customer=theirs, currency="EUR", proposed_on=invoice.due_date,
        instalments=[{"due_date": "2030-01-01", "amount": "1.00"}, {"due_date": "2030-02-01", "amount": "1.00"}],
    )  # fmt: skip
    return {
        "attachment": attachment.pk,
        "plan_proposal": proposal.pk,
        "contact_change": ContactChange.objects.create(
            customer=theirs, name="N", submitted_on=invoice.due_date
        ).pk,
        "customer": theirs.pk,
        "invoice": invoice.pk,
        "contact": ContactFactory(customer=theirs).pk,
        "payment": PaymentFactory(customer=theirs).pk,
        "agreement": AgreementFactory(customer=theirs).pk,
        "interaction": InteractionFactory(customer=theirs).pk,
        "excuse": ExcuseFactory(customer=theirs).pk,
        "complaint": complaint.pk,
        "task": TaskFactory(customer=theirs).pk,
        "reminder": ReminderFactory(customer=theirs).pk,
        "proposal": ProposalFactory(customer=theirs).pk,
        "segment": theirs.segment_id,
        "policy": PolicyFactory().pk,
        "bank_line": queued_bank_line(theirs).pk,
    }


def queued_bank_line(customer):
    """A bank credit waiting in the cash queue, its likeliest payer the other collector's customer."""
    statement = BankStatement.objects.create(
        account="NL20INGB0001234567", statement_id="S-1", format="camt.053"
    )
    return BankTransaction.objects.create(
        statement=statement, account=statement.account, statement_ref="S-1", entry_reference="E-1",
        direction="credit", booking_date=TODAY, value_date=TODAY, amount=Decimal("10.00"), currency="EUR",
        status="queued", customer=customer,
    )  # fmt: skip


def signed_in(role: str):
    if role == "anonymous":
        return None
    if role == "no_role":
        return UserFactory(username="nobody", is_staff=True)
    # Staff status is given to every role: the admin must refuse all but credit managers anyway.
    return UserFactory(
        username={CM: "cm", COL: "col", FIN: "fin", INT: "int"}[role], role=role, is_staff=True
    )


def outcome(response) -> object:
    location = response.get("Location", "")
    if response.status_code in (301, 302) and "login" in location and "next=" in location:
        return "login"
    if response.status_code in (401, 403, 404):
        return response.status_code
    assert response.status_code < 500, response.content[:500]
    return "ok"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "method", "path", "expected"),
    EXPECTED,
    ids=[f"{method.upper()} {path}" for _, method, path, _ in EXPECTED],
)
def test_each_url_answers_each_role_as_the_table_says(name, method, path, expected, role, ledger):
    user = signed_in(role)
    url = path.format(**ledger)
    if path.startswith("/api/"):
        client = client_for(user) if user else APIClient()
        response = getattr(client, method)(url, {}, format="json")
    else:
        client = Client()
        if user:
            client.force_login(user)
        response = getattr(client, method)(url)
    assert outcome(response) == expected[role], f"{method.upper()} {url} as {role}"
