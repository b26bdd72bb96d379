"""The reports pages as finance leads and credit managers see them: figures, charts, CSV and PDF."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from reports.models import WorthItSettings
from reports.scores import rebuild_worth_it_scores
from tests.factories import TODAY, CustomerFactory, InteractionFactory, InvoiceFactory, UserFactory
from tests.reports.test_ledger_figures import ledger  # noqa: F401  (the hand-worked ledger)

pytestmark = pytest.mark.django_db
AS_OF = f"?as_of={TODAY.isoformat()}"


@pytest.mark.parametrize("role", ["collector", "integrator"])
@pytest.mark.parametrize(
    "url", ["/reports/", "/reports/worth-it/", "/reports/export/figures.csv", "/reports/report.pdf"]
)
def test_collectors_and_integrators_are_refused(client, role, url):
    client.force_login(UserFactory(role=role))
    assert client.get(url).status_code == 403


def test_reports_need_a_login(client):
    response = client.get("/reports/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_dashboard_shows_each_figure_with_its_definition_and_charts(client, finance_lead, ledger):  # noqa: F811
    client.force_login(finance_lead)

    page = client.get(f"/reports/{AS_OF}").content.decode()
    sections = {
        name: client.get(f"/reports/section/{name}/{AS_OF}", headers={"HX-Request": "true"}).content.decode()
        for name in ["aging", "trend", "breakdown", "effort", "excuses", "debt-bands", "channels"]
    }

    assert 'data-currency="EUR"' in page and 'data-currency="USD"' in page
    for text in ["6,600.00 EUR", "84.8%", "92.4 days", "88.7 days", "14.0 days", "78.4 days", "44.6%"]:
        assert text in page, text
    assert "DSO (countback): walk back month by month" in page
    assert "CEI = (opening receivables + credit sales - closing receivables)" in page
    for name in sections:  # each section loads on its own, with a plain link for browsers without JS
        assert f'hx-get="/reports/section/{name}/{AS_OF}"' in page, name
        assert f'<a href="/reports/section/{name}/{AS_OF}"' in page, name
    for name, chart in [
        ("aging", "aging"),
        ("trend", "dso-trend"),
        ("effort", "pareto"),
        ("excuses", "excuse-mix"),
    ]:
        assert f'data-chart="{chart}"' in sections[name], chart
    assert "Per segment" in sections["breakdown"] and "SME" in sections["breakdown"]
    assert "Per collector" in sections["breakdown"]


def test_a_section_without_javascript_is_a_page_of_its_own(client, finance_lead, ledger):  # noqa: F811
    client.force_login(finance_lead)

    fragment = client.get(f"/reports/section/aging/{AS_OF}", headers={"HX-Request": "true"})
    page = client.get(f"/reports/section/aging/{AS_OF}")

    assert "<html" not in fragment.content.decode() and "HX-Request" in fragment["Vary"]
    assert "<html" in page.content.decode() and 'data-chart="aging"' in page.content.decode()
    assert "3,000.00" in page.content.decode()  # 31-60 days in EUR
    assert client.get("/reports/section/nothing/").status_code == 404


def test_dashboard_filters_by_segment_and_rebuilds_a_past_day(client, credit_manager, ledger):  # noqa: F811
    client.force_login(credit_manager)

    page = client.get(
        f"/reports/?as_of=2026-09-30&segment={ledger['segment'].pk}&currency=EUR"
    ).content.decode()

    assert 'data-currency="USD"' not in page
    assert "3,000.00 EUR" in page  # SME on 30 Sep: only C, not yet due


def test_dashboard_reports_a_bad_date_by_field(client, finance_lead):
    client.force_login(finance_lead)
    assert "Enter a valid date" in client.get("/reports/?as_of=2026-13-45").content.decode()
    assert "Pick a day in 2000 or later." in client.get("/reports/?as_of=0001-01-01").content.decode()


def test_dashboard_query_count_does_not_grow_with_the_ledger(
    client, finance_lead, django_assert_max_num_queries
):
    client.force_login(finance_lead)
    for _ in range(30):
        customer = CustomerFactory()
        InvoiceFactory.create_batch(3, customer=customer, due_date=TODAY - dt.timedelta(days=40))
        InteractionFactory(customer=customer)
    with django_assert_max_num_queries(20):
        assert client.get(f"/reports/{AS_OF}").status_code == 200


def test_worth_it_ranking_page_lists_scores_with_their_components(
    client, finance_lead, django_assert_max_num_queries
):
    for index in range(60):
        InvoiceFactory(customer=CustomerFactory(name=f"Customer {index:02d}"))
    rebuild_worth_it_scores(today=TODAY)
    client.force_login(finance_lead)

    # Kept scores, sorted and cut in SQL: the same count whatever the ledger (tests/reports/test_scores.py).
    with django_assert_max_num_queries(14):
        page = client.get(f"/reports/worth-it/{AS_OF}").content.decode()

    assert 'data-testid="worth-it-ranking"' in page
    assert "Page 1 of 2 (60 customers)" in page
    assert "Complaints rejected" in page and "Minutes spent" in page
    assert "Credit managers change these weights." in page


def test_credit_manager_changes_the_weights_on_the_page(client, credit_manager):
    client.force_login(credit_manager)
    form = {name: value for name, value in _default_form().items()}
    form["revenue_weight"] = "25"

    response = client.post("/reports/worth-it/", form, follow=True)

    assert "Worth-it weights saved" in response.content.decode()
    assert WorthItSettings.objects.get().revenue_weight == Decimal("25.0")


def test_weights_form_reports_errors_per_field(client, credit_manager):
    client.force_login(credit_manager)
    form = _default_form()
    form["minutes_cap"] = "0"

    page = client.post("/reports/worth-it/", form).content.decode()

    assert "Ensure this value is greater than or equal to 1." in page
    assert not WorthItSettings.objects.exists()


def test_finance_lead_cannot_change_the_weights(client, finance_lead):
    client.force_login(finance_lead)
    assert client.post("/reports/worth-it/", _default_form()).status_code == 403


def _default_form() -> dict:
    from reports.models import SETTING_FIELDS

    defaults = WorthItSettings()
    return {name: str(getattr(defaults, name)) for name in SETTING_FIELDS}


def test_csv_export_holds_the_figures(client, finance_lead, ledger):  # noqa: F811
    client.force_login(finance_lead)

    response = client.get(f"/reports/export/figures.csv{AS_OF}")

    assert response["Content-Type"].startswith("text/csv")
    rows = {row["currency"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows["EUR"]["receivables"] == "6600.00"
    assert rows["EUR"]["over_90"] == "1100.00"
    assert (rows["EUR"]["dso"], rows["EUR"]["countback_dso"], rows["EUR"]["cei"]) == ("92.4", "88.7", "44.6")


def test_csv_trend_and_worth_it_exports(client, finance_lead, ledger):  # noqa: F811
    client.force_login(finance_lead)

    trend = list(
        csv.DictReader(io.StringIO(client.get(f"/reports/export/trend.csv{AS_OF}").content.decode()))
    )
    worth_it = list(
        csv.reader(io.StringIO(client.get(f"/reports/export/worth-it.csv{AS_OF}").content.decode()))
    )

    assert len([row for row in trend if row["currency"] == "EUR"]) == 12
    assert worth_it[0][:5] == ["rank", "account_number", "customer", "currency", "score"]
    assert "revenue_weight" in worth_it[0] and len(worth_it) == 1 + 3  # every customer


def test_pdf_report_opens_and_holds_the_figures(client, finance_lead, ledger):  # noqa: F811
    client.force_login(finance_lead)

    response = client.get(f"/reports/report.pdf{AS_OF}")

    assert response["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for figure in ["CreditDesk report as of", "6,600.00 EUR", "92.4 days", "88.7 days", "44.6%", "USD"]:
        assert figure in text, figure
