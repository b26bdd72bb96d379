"""Report reads go to the read replica (DATABASE_REPLICA_URL); everything else stays on the primary.

The "replica" alias is a mirror of the test database on SQLite and a real second database on
PostgreSQL (tests/settings.py). The tests that read through it commit their data (transaction=True):
a mirror is another connection, which sees only committed rows.
"""

import datetime as dt
import logging
from decimal import Decimal

import pytest
from django.db import OperationalError, connections, router
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from creditdesk import db_routers
from customers.models import Customer, Segment
from invoices.models import Invoice
from reports.backtest import backtest
from reports.replica import reading_reports
from tests.conftest import need_service
from tests.creditdesk.test_production_settings import load_settings
from tests.factories import TODAY, CustomerFactory, InvoiceFactory, UserFactory

BOTH = pytest.mark.django_db(transaction=True, databases=["default", "replica"])
REPORT_PAGES = [
    f"/reports/?as_of={TODAY}",
    f"/reports/worth-it/?as_of={TODAY}",
    f"/reports/export/figures.csv?as_of={TODAY}",
]
REPORT_API = [f"/api/v1/reports/figures/?as_of={TODAY}", f"/api/v1/reports/worth-it/?as_of={TODAY}"]


@pytest.fixture
def replica_on(settings):
    """The replica configured, and known reachable (no memory of an earlier outage)."""
    settings.REPORT_READS_DATABASE = "replica"
    db_routers._replica_down_until = 0.0
    yield
    db_routers._replica_down_until = 0.0


def queries_on(alias: str) -> CaptureQueriesContext:
    return CaptureQueriesContext(connections[alias])


def overdue_customer(name: str = "Overdue BV") -> Customer:
    customer = CustomerFactory(name=name)
    InvoiceFactory(customer=customer, due_date=TODAY - dt.timedelta(days=40), amount=Decimal("500.00"))
    return customer


@BOTH
def test_report_pages_and_report_api_read_from_the_replica(client, replica_on):
    finance_lead = UserFactory(role="finance_lead")
    overdue_customer()
    client.force_login(finance_lead)
    token = Token.objects.create(user=finance_lead)

    for url in REPORT_PAGES + REPORT_API:
        headers = {"HTTP_AUTHORIZATION": f"Token {token.key}"} if url.startswith("/api/") else {}
        with queries_on("replica") as on_replica:
            assert client.get(url, **headers).status_code == 200, url
        assert len(on_replica) > 0, url


@BOTH
def test_worklist_customer_page_and_lists_never_read_the_replica(client, replica_on):
    credit_manager = UserFactory(role="credit_manager")
    customer = overdue_customer()
    client.force_login(credit_manager)

    for url in ["/worklist/", f"/customers/{customer.pk}/", "/invoices/", "/api/v1/invoices/"]:
        with queries_on("replica") as on_replica, queries_on("default") as on_primary:
            assert client.get(url).status_code == 200, url
        assert len(on_replica) == 0, (url, [q["sql"] for q in on_replica])
        assert len(on_primary) > 0, url


@BOTH
def test_a_report_right_after_your_own_change_reads_the_primary(client, replica_on):
    """Read your writes: a credit manager who saves the worth-it weights is sent back to the ranking,
    which must use the new weights, whatever the replica's lag."""
    credit_manager = UserFactory(role="credit_manager")
    colleague = UserFactory(role="finance_lead")
    overdue_customer()
    client.force_login(credit_manager)
    url = f"/reports/worth-it/?as_of={TODAY}"
    form = client.get(url).context["settings_form"]
    data = {name: value for name, value in form.initial.items() if name in form.fields}

    with queries_on("replica") as on_replica:
        saved = client.post(url, {**data, "excuses_weight": "7"})
        assert saved.status_code == 302
        assert client.get(saved["Location"]).status_code == 200
    assert len(on_replica) == 0

    client.force_login(colleague)  # who changed nothing reads the replica as before
    with queries_on("replica") as on_replica:
        assert client.get(url).status_code == 200
    assert len(on_replica) > 0


# Both aliases are allowed here: the test replaces the replica's ensure_connection itself, and Django's
# own guard on a disallowed alias would otherwise be restored in the wrong order at teardown.
@BOTH
def test_report_falls_back_to_the_primary_when_the_replica_is_unreachable(
    client, finance_lead, replica_on, monkeypatch, caplog
):
    calls = []

    def unreachable():
        calls.append(1)
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["replica"], "ensure_connection", unreachable)
    client.force_login(finance_lead)
    overdue_customer()

    with caplog.at_level(logging.WARNING, logger="creditdesk.db_routers"):
        first = client.get(f"/reports/?as_of={TODAY}")
        second = client.get(f"/reports/worth-it/?as_of={TODAY}")

    assert first.status_code == 200 and second.status_code == 200
    assert "500.00" in first.content.decode()  # the figures, read from the primary
    assert "Read replica 'replica' unreachable" in caplog.text
    assert len(calls) == 1  # not tried again on every query or request while it is down


@BOTH
def test_without_a_replica_reports_read_the_primary(client, finance_lead, settings):
    settings.REPORT_READS_DATABASE = None
    client.force_login(finance_lead)

    with reading_reports():
        assert router.db_for_read(Customer) == "default"
    for url in REPORT_PAGES:
        with queries_on("replica") as on_replica:
            assert client.get(url).status_code == 200, url
        assert on_replica.captured_queries == [], url


@pytest.mark.django_db(databases=["default", "replica"])
def test_writes_and_migrations_stay_on_the_primary(replica_on):
    with reading_reports():
        assert router.db_for_read(Customer) == "replica"
        assert router.db_for_write(Customer) == "default"
    assert router.db_for_read(Customer) == "default"  # outside the reports' reads
    assert router.allow_migrate("default", "invoices", model_name="invoice") is True
    assert router.allow_migrate("replica", "invoices", model_name="invoice") is False
    assert router.allow_relation(Customer(), Invoice()) is True


@BOTH
def test_rows_only_the_replica_has_show_in_reports_and_nowhere_else(client, replica_on):
    """With a real second database, what the reports show is what the replica holds: rows written
    there alone (a stand-in for rows the replica has and the primary does not) show in the
    dashboard, the ranking and the reports API, and not on the primary's worklist."""
    replica = connections["replica"]
    need_service(
        replica.vendor == "postgresql" and not replica.settings_dict["TEST"]["MIRROR"],
        "a second PostgreSQL database (set DATABASE_URL)",
    )
    credit_manager = UserFactory(role="credit_manager")
    segment = Segment.objects.using("replica").create(name="Replica only")
    customer = CustomerFactory.build(name="Only On The Replica BV", segment=segment)
    customer.save(using="replica")
    invoice = InvoiceFactory.build(
        customer=customer, due_date=TODAY - dt.timedelta(days=40), amount=Decimal("4321.00")
    )
    invoice.save(using="replica")
    assert not Customer.objects.using("default").exists()
    client.force_login(credit_manager)

    dashboard = client.get(f"/reports/?as_of={TODAY}").content.decode()
    ranking = client.get(f"/reports/worth-it/?as_of={TODAY}").content.decode()
    figures = client.get(f"/api/v1/reports/figures/?as_of={TODAY}").json()
    worklist = client.get("/worklist/").content.decode()

    assert "4,321.00" in dashboard
    assert "Only On The Replica BV" in ranking
    assert [row["receivables"] for row in figures["results"]] == ["4321.00"]
    assert "Only On The Replica BV" not in worklist
    assert client.get(f"/customers/{customer.pk}/").status_code == 404


def test_database_replica_url_adds_the_replica_and_sends_report_reads_there(monkeypatch):
    monkeypatch.delenv("DATABASE_REPLICA_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgres://app@primary.example:5432/creditdesk")
    without = load_settings(monkeypatch, DJANGO_DEBUG="true")
    assert set(without["DATABASES"]) == {"default"} and without["REPORT_READS_DATABASE"] is None

    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://reader@replica.example:5432/creditdesk")
    loaded = load_settings(monkeypatch, DJANGO_DEBUG="true")

    replica = loaded["DATABASES"]["replica"]
    assert (replica["HOST"], replica["USER"]) == ("replica.example", "reader")
    assert replica["OPTIONS"]["connect_timeout"] == 2 and replica["CONN_HEALTH_CHECKS"]
    assert loaded["REPORT_READS_DATABASE"] == "replica"
    assert loaded["DATABASE_ROUTERS"] == ["creditdesk.db_routers.ReportReplicaRouter"]


@BOTH
def test_the_backtest_gathers_its_temporary_tables_on_the_primary_even_for_a_report_read(
    settings, replica_on
):
    """A hot-standby replica refuses temporary tables: the week-ends' sources live on the primary."""
    settings.REPORTS_BACKTEST_CONNECTIONS = 1  # one run, on this thread's connections
    overdue_customer()

    with queries_on("replica") as on_replica, queries_on("default") as on_primary, reading_reports():
        backtest(as_of=TODAY, origins=3, keep=False)

    def created(queries) -> list:
        return [q["sql"] for q in queries if "CREATE TEMPORARY TABLE" in q["sql"]]

    assert created(on_primary) and not created(on_replica)
    assert len(on_replica) > 0  # the rest of the report still reads the replica
