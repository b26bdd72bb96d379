"""The three ways in (API, upload page, command) and the queue page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from banking.models import BankTransaction
from banking.services import import_statement_file
from customers.access import SYSTEM
from tests.api.conftest import client_for

from .conftest import SAMPLES, sample
from .test_queue import UNKNOWN_ACCOUNT

pytestmark = pytest.mark.django_db


def upload(name: str, content: bytes | None = None):
    return SimpleUploadedFile(name, content if content is not None else sample(name))


def test_an_integrator_posts_a_statement_and_a_repeat_adds_nothing(ledger, integrator):
    api = client_for(integrator)
    first = api.post(
        "/api/v1/bank-statements/", {"file": upload("camt053_001_02_two_statements.xml")}, format="multipart"
    )
    again = api.post(
        "/api/v1/bank-statements/", {"file": upload("camt053_001_02_two_statements.xml")}, format="multipart"
    )

    assert first.status_code == 201, first.content
    assert first.json() == {
        "statements": 2,
        "new": 5,
        "known": 0,
        "applied": 3,
        "queued": 0,
        "unidentified": 1,
        "debits": 1,
    }
    assert again.status_code == 200 and again.json()["new"] == 0 and again.json()["known"] == 5
    listed = api.get("/api/v1/bank-statements/").json()
    assert {row["statement_id"] for row in listed["results"]} == {"STMT-2026-11-23-A", "STMT-2026-11-24-A"}


def test_the_api_refuses_a_broken_file_with_the_place_at_fault(ledger, integrator):
    response = client_for(integrator).post(
        "/api/v1/bank-statements/", {"file": upload("camt053_bad_amount.xml")}, format="multipart"
    )

    assert response.status_code == 400
    assert "line 60: <Amt> is not an amount." in response.json()["file"][0]
    assert not BankTransaction.objects.exists()


def test_a_collector_cannot_post_statements(ledger, collector):
    response = client_for(collector).post(
        "/api/v1/bank-statements/", {"file": upload("mt940_two_statements.sta")}, format="multipart"
    )
    assert response.status_code == 403


def test_the_command_imports_files_and_reports_a_refused_one(ledger, capsys):
    with pytest.raises(CommandError, match="1 of 2 file"):
        call_command(
            "import_statement", SAMPLES / "mt940_two_statements.sta", SAMPLES / "camt053_bad_amount.xml"
        )

    out, err = capsys.readouterr()
    assert "2 statement(s): 3 new transaction(s), 0 already imported; 2 applied" in out
    assert "camt053_bad_amount.xml: refused, nothing imported: line 60: <Amt> is not an amount." in err


def test_a_credit_manager_uploads_on_the_page_and_lands_on_the_queue(ledger, client, credit_manager):
    client.force_login(credit_manager)
    response = client.post("/bank/upload/", {"file": upload("unknown.sta", UNKNOWN_ACCOUNT)}, follow=True)

    assert response.redirect_chain[-1][0] == "/bank/queue/"
    page = response.content.decode()
    assert "1 statement(s): 2 new transaction(s)" in page
    assert "Bakker Logistics GmbH" in page and "Payer not recognised." in page


def test_the_upload_page_shows_why_a_file_is_refused(ledger, client, credit_manager):
    client.force_login(credit_manager)
    response = client.post("/bank/upload/", {"file": upload("mt940_wrong_closing_balance.sta")})

    assert response.status_code == 200
    assert ":62F: says 13170.10" in response.content.decode()


def test_the_queue_page_reads_a_constant_number_of_queries(ledger, client, credit_manager):
    client.force_login(credit_manager)
    import_statement_file(content=UNKNOWN_ACCOUNT, actor=SYSTEM)
    client.get("/bank/queue/")
    with CaptureQueriesContext(connection) as few:
        client.get("/bank/queue/")
    more = UNKNOWN_ACCOUNT.replace(b"STMT2611250001", b"STMT2611260001").replace(b"00233/1", b"00234/1")
    import_statement_file(content=more, actor=SYSTEM)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/bank/queue/")

    assert len(response.context["page"]) == 4
    assert len(many) == len(few)


def test_one_click_on_the_queue_page_applies_the_suggestion(ledger, client, credit_manager):
    client.force_login(credit_manager)
    import_statement_file(content=UNKNOWN_ACCOUNT, actor=SYSTEM)
    line = BankTransaction.objects.get(entry_reference="B6K25A001")

    response = client.post(f"/bank/queue/{line.pk}/confirm/", {"suggestion": "0"}, follow=True)

    assert "Applied 480.00 EUR from BAKKER LOGISTICS" in response.content.decode()
    line.refresh_from_db()
    assert line.status == "confirmed"
