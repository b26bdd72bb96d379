"""/api/v1/reports/...: the same figures as the dashboard, for finance leads and credit managers only."""

import datetime as dt

import pytest
from rest_framework.authtoken.models import Token

from reports.scores import rebuild_worth_it_scores
from tests.factories import (
    TODAY,
    ComplaintFactory,
    CustomerFactory,
    ExcuseFactory,
    InvoiceFactory,
    ReminderFactory,
    UserFactory,
)
from tests.reports.test_ledger_figures import ledger  # noqa: F401  (the hand-worked ledger)

pytestmark = pytest.mark.django_db
ENDPOINTS = ["figures", "trend", "worth-it", "effort", "excuses"]


def token_client(client, role):
    token = Token.objects.create(user=UserFactory(role=role))
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return client


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ["collector", "integrator"])
def test_collectors_and_integrators_get_403(client, role, endpoint):
    assert token_client(client, role).get(f"/api/v1/reports/{endpoint}/").status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_callers_are_refused(client, endpoint):
    assert client.get(f"/api/v1/reports/{endpoint}/").status_code in (401, 403)


def test_figures_endpoint_gives_the_hand_worked_figures(client, ledger):  # noqa: F811
    response = token_client(client, "finance_lead").get(f"/api/v1/reports/figures/?as_of={TODAY}")

    assert response.status_code == 200
    body = response.json()
    eur = next(row for row in body["results"] if row["currency"] == "EUR")
    assert eur["receivables"] == "6600.00" and eur["aging"]["over_90"] == "1100.00"
    assert (eur["dso"], eur["countback_dso"], eur["best_dso"], eur["add"], eur["cei"]) == (
        "92.4", "88.7", "14.0", "78.4", "44.6",
    )  # fmt: skip
    assert eur["overdue_share"] == "84.8"
    assert "countback" in body["definitions"]["countback_dso"]


def test_figures_grouped_by_segment(client, ledger):  # noqa: F811
    response = token_client(client, "credit_manager").get(
        f"/api/v1/reports/figures/?as_of={TODAY}&group_by=segment&currency=EUR"
    )
    rows = {row["group_id"]: row["receivables"] for row in response.json()["results"]}
    assert rows[ledger["segment"].pk] == "5500.00"


def test_bad_query_parameters_are_reported_per_field(client):
    response = token_client(client, "finance_lead").get(
        "/api/v1/reports/figures/?as_of=yesterday&period_months=40"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"as_of", "period_months"}


def test_trend_endpoint_gives_twelve_points(client, ledger):  # noqa: F811
    body = token_client(client, "finance_lead").get(f"/api/v1/reports/trend/?as_of={TODAY}").json()
    assert len(body["results"]) == 12 and body["results"][-1]["as_of"] == TODAY.isoformat()
    september = next(p for p in body["results"] if p["as_of"] == "2026-09-30")
    eur = next(f for f in september["figures"] if f["currency"] == "EUR")
    assert eur["aging"] == {"current": "3000.00", "overdue": "1100.00"} and eur["dso"] == "49.6"
    assert set(body["results"][-1]["figures"][0]["aging"]) == {
        "current", "days_1_30", "days_31_60", "days_61_90", "over_90",
    }  # fmt: skip


def test_worth_it_endpoint_pages_and_pins_its_query_count(client, django_assert_max_num_queries):
    for _ in range(60):
        InvoiceFactory(customer=CustomerFactory())
    rebuild_worth_it_scores(today=TODAY)
    api = token_client(client, "finance_lead")

    # Kept scores: the days they are as of, the weights, the count and the page (plus sign-in).
    with django_assert_max_num_queries(8):
        body = api.get(f"/api/v1/reports/worth-it/?as_of={TODAY}").json()
    with django_assert_max_num_queries(8):
        second = api.get(f"/api/v1/reports/worth-it/?as_of={TODAY}&page=2").json()

    assert body["count"] == 60 and len(body["results"]) == 50
    first = body["results"][0]
    assert first["rank"] == 1 and 0 <= first["score"] <= 100
    assert [c["name"] for c in first["components"]][:2] == ["revenue", "punctuality"]
    assert all("weight" in c and "points" in c for c in first["components"])
    assert [row["rank"] for row in second["results"]] == list(range(51, 61))


def test_worth_it_endpoint_computes_a_day_the_scores_are_not_kept_for(client, django_assert_max_num_queries):
    for _ in range(60):
        InvoiceFactory(customer=CustomerFactory())
    rebuild_worth_it_scores(today=TODAY)
    api = token_client(client, "finance_lead")
    past = TODAY - dt.timedelta(days=30)

    with django_assert_max_num_queries(17):
        body = api.get(f"/api/v1/reports/worth-it/?as_of={past}").json()

    assert body["count"] == 60 and body["results"][0]["rank"] == 1


def test_effort_and_excuses_endpoints(client, ledger):  # noqa: F811
    ExcuseFactory.create_batch(2, category="cash_flow", given_on=TODAY)
    api = token_client(client, "finance_lead")

    effort = api.get(f"/api/v1/reports/effort/?as_of={TODAY}").json()
    excuses = api.get(f"/api/v1/reports/excuses/?as_of={TODAY}").json()

    assert {row["currency"] for row in effort} == {"EUR", "USD"}
    assert excuses["totals"] == {"cash_flow": 2} and len(excuses["months"]) == 12


def test_the_excuses_endpoint_lists_the_latest_complaints_used_to_delay_up_to_the_asked_number(client):
    customer = CustomerFactory()
    ReminderFactory(customer=customer, run_on=TODAY - dt.timedelta(days=40))
    rejected = [
        ComplaintFactory(
            customer=customer,
            opened_on=TODAY - dt.timedelta(days=35),
            resolved_on=TODAY - dt.timedelta(days=10 - n),
            outcome="rejected",
        )
        for n in range(3)
    ]
    api = token_client(client, "finance_lead")

    listed = api.get(f"/api/v1/reports/excuses/?as_of={TODAY}").json()["complaint_delays"]
    latest_two = api.get(f"/api/v1/reports/excuses/?as_of={TODAY}&complaint_delays_limit=2").json()

    assert [row["pk"] for row in listed] == [c.pk for c in reversed(rejected)]
    assert [row["pk"] for row in latest_two["complaint_delays"]] == [rejected[2].pk, rejected[1].pk]
    for limit in (0, 1001, "all"):
        refused = api.get(f"/api/v1/reports/excuses/?complaint_delays_limit={limit}")
        assert refused.status_code == 400 and "complaint_delays_limit" in refused.json()


def test_reports_endpoints_are_in_the_openapi_schema(client):
    client.force_login(UserFactory(role="integrator"))
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    for endpoint in ENDPOINTS:
        assert f"/api/v1/reports/{endpoint}/" in schema


@pytest.mark.parametrize("as_of", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"])
def test_days_outside_the_reportable_range_are_refused_with_400(client, as_of):
    api = token_client(client, "finance_lead")
    for endpoint in ENDPOINTS:
        response = api.get(f"/api/v1/reports/{endpoint}/?as_of={as_of}")
        assert response.status_code == 400, endpoint
        assert "as_of" in response.json()


@pytest.mark.parametrize("as_of", ["2000-01-01", "2099-12-31"])
def test_the_first_and_last_reportable_days_answer(client, ledger, as_of):  # noqa: F811
    api = token_client(client, "credit_manager")
    for endpoint in ENDPOINTS:
        for extra in ["", "&group_by=segment", "&group_by=collector&period_months=12", "&currency=USD"]:
            assert api.get(f"/api/v1/reports/{endpoint}/?as_of={as_of}{extra}").status_code == 200, endpoint


def test_an_unknown_or_huge_collector_id_is_refused_with_400(client, ledger):  # noqa: F811
    api = token_client(client, "finance_lead")
    for collector in ["9223372036854775808", "999999", str(ledger["segment"].pk) + "x"]:
        response = api.get(f"/api/v1/reports/effort/?collector={collector}")
        assert response.status_code == 400 and "collector" in response.json()
    assert api.get(f"/api/v1/reports/effort/?collector={ledger['collector'].pk}").status_code == 200
