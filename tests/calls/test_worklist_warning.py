"""An early warning (reports.EarlyWarning) is a worklist reason of its own: a flagged customer with
nothing overdue is on today's worklist, kept and live alike, until someone speaks to them."""

import datetime as dt

import pytest

from calls.models import Standing
from calls.selectors import worklist, worklist_rows
from calls.services import CallLog, log_call
from calls.standing import rebuild_all
from reports.early_warning import Warning, keep_warnings
from tests.factories import TODAY, CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def on_list(user, *, kept):
    return {c.pk: (c.reason_warning, c.priority) for c in worklist(user=user, today=TODAY, kept=kept)}


def test_a_flag_puts_a_customer_on_the_worklist_until_they_are_called(credit_manager):
    flagged = CustomerFactory()
    InvoiceFactory(customer=flagged, due_date=TODAY + dt.timedelta(days=10))  # nothing overdue
    calm = CustomerFactory()
    rebuild_all(as_of=TODAY)
    assert on_list(credit_manager, kept=True) == on_list(credit_manager, kept=False) == {}

    words = "Paying later than usual: 34 days late over 3 months, 9 before"
    keep_warnings({flagged.pk: Warning(flagged.pk, reasons=[words], kinds=["later"])},
                  customer_ids=[flagged.pk, calm.pk], today=TODAY)  # fmt: skip

    assert Standing.objects.get(customer=flagged).reason_warning is True
    assert (
        on_list(credit_manager, kept=True) == on_list(credit_manager, kept=False) == {flagged.pk: (True, 100)}
    )
    (row,) = worklist_rows(list(worklist(user=credit_manager, today=TODAY)), today=TODAY)
    assert row.reasons == [words]

    log_call(customer=flagged, user=credit_manager, call=CallLog(outcome="reached"), today=TODAY)

    assert on_list(credit_manager, kept=True) == on_list(credit_manager, kept=False) == {}
    # Cleared by the reports app: the kept day follows at once.
    keep_warnings({}, customer_ids=[flagged.pk], today=TODAY)
    assert Standing.objects.get(customer=flagged).reason_warning is False
