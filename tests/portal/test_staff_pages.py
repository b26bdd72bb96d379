"""The staff side: the portal box on the customer page, revoking links, deciding plans and contacts, files."""

import datetime as dt
from decimal import Decimal

import pytest

from agreements.services import InstalmentTerms
from calls.models import Complaint, PlanProposal
from calls.services import attach_to_complaint, propose_plan
from customers.access import SYSTEM
from customers.models import ContactChange
from customers.services import submit_contact_change
from tests.factories import TODAY, ComplaintFactory
from tests.portal.conftest import url

pytestmark = pytest.mark.django_db


def test_a_credit_manager_revokes_the_links_from_the_customer_page(
    client, token, customer, owner, credit_manager
):
    client.force_login(owner)
    assert client.post(f"/customers/{customer.pk}/portal-links/revoke/").status_code == 403
    assert b"Revoke the customer" not in client.get(f"/customers/{customer.pk}/").content
    client.force_login(credit_manager)
    assert b"1 live link(s)" in client.get(f"/customers/{customer.pk}/").content
    client.post(f"/customers/{customer.pk}/portal-links/revoke/")
    client.logout()
    assert client.get(url(token)).status_code == 410


def test_a_credit_manager_declines_a_plan_on_the_customer_page(client, customer, invoices, credit_manager):
    proposal = propose_plan(
        customer=customer, invoices=invoices[:1], actor=SYSTEM, today=TODAY,
        instalments=[InstalmentTerms(TODAY + dt.timedelta(days=d), Decimal("50")) for d in (7, 14)],
    )  # fmt: skip
    client.force_login(credit_manager)
    assert "Proposed plan" in client.get(f"/customers/{customer.pk}/").content.decode()
    client.post(f"/plan-proposals/{proposal.pk}/decide/", {"decision": "decline", "reason": ""})
    assert PlanProposal.objects.get().state == "pending"  # a decline needs a reason
    client.post(
        f"/plan-proposals/{proposal.pk}/decide/", {"decision": "decline", "reason": "Two months at most"}
    )
    proposal.refresh_from_db()
    assert (proposal.state, proposal.decline_reason, proposal.decided_by) == (
        "declined",
        "Two months at most",
        credit_manager,
    )


def test_the_collector_confirms_a_new_contact_on_the_customer_page(client, customer, owner):
    change = submit_contact_change(
        customer=customer, actor=SYSTEM, today=TODAY, name="Nico", email="n@acme.example"
    )
    client.force_login(owner)
    client.post(f"/contact-changes/{change.pk}/decide/", {"decision": "confirm"})
    assert ContactChange.objects.get().state == "confirmed"
    assert customer.contacts.get(is_primary=True).name == "Nico"


def test_dispute_files_are_downloaded_by_staff_who_see_the_customer(client, customer, owner, finance_lead):
    complaint = ComplaintFactory(customer=customer)
    attachment = attach_to_complaint(
        complaint=complaint,
        name="proof.pdf",
        content=b"%PDF-1.4 proof",
        content_type="application/pdf",
        actor=SYSTEM,
    )
    client.force_login(owner)
    response = client.get(f"/complaint-files/{attachment.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 proof"
    assert response["Content-Disposition"].startswith("attachment")
    assert (
        Complaint.objects.get()
        .attachments.get()
        .file.path.startswith(str(client and attachment.file.storage.location))
    )
