"""The engine alone: a pure function of policy, invoice facts, pause and today."""

import datetime as dt
from decimal import Decimal

from dunning.engine import InvoiceFacts, PolicyRules, StepRule, due_reminders

DUE = dt.date(2026, 11, 23)  # a Monday
STANDARD = PolicyRules(steps=[StepRule(1, -3), StepRule(2, 3), StepRule(3, 7), StepRule(4, 30)])


def invoice(invoice_id=1, due=DUE, status="open", open_amount="100.00", sent=(), **flags) -> InvoiceFacts:
    return InvoiceFacts(
        invoice_id=invoice_id,
        due_date=due,
        status=status,
        open_amount=Decimal(open_amount),
        sent_offsets=frozenset(sent),
        **flags,
    )


def live_through(policy: PolicyRules, days: range, paused_until=None, **flags) -> list[tuple[int, int]]:
    """Run the engine every day, remembering what was sent: (days from due, offset) per reminder."""
    sent: set[int] = set()
    reminders = []
    for day in days:
        today = DUE + dt.timedelta(days=day)
        for due in due_reminders(
            policy=policy, invoices=[invoice(sent=sent, **flags)], today=today, paused_until=paused_until
        ):
            sent.add(due.offset_days)
            reminders.append((day, due.offset_days))
    return reminders


def test_an_invoice_life_meets_each_step_once_on_its_day():
    assert live_through(STANDARD, range(-10, 90)) == [(-3, -3), (3, 3), (7, 7), (30, 30)]


def test_a_pause_skips_the_missed_steps_and_resumes_at_the_current_one():
    paused_until = DUE + dt.timedelta(days=10)
    assert live_through(STANDARD, range(-10, 90), paused_until=paused_until) == [(10, 7), (30, 30)]


def test_business_days_only_moves_a_weekend_step_to_monday():
    policy = PolicyRules(steps=STANDARD.steps, business_days_only=True)
    # DUE is a Monday: -3 is Friday, +3 Thursday, +7 Monday, +30 Wednesday; shift due to Wednesday:
    sent = []
    due_wednesday = DUE + dt.timedelta(days=2)
    for day in range(-10, 40):
        today = due_wednesday + dt.timedelta(days=day)
        facts = [invoice(due=due_wednesday, sent={offset for _, offset in sent})]
        for due in due_reminders(policy=policy, invoices=facts, today=today):
            sent.append((today.strftime("%a"), due.offset_days))
    # -3 falls on Sunday -> Monday; +3 Saturday -> Monday; +7 Wednesday; +30 Friday.
    assert sent == [("Mon", -3), ("Mon", 3), ("Wed", 7), ("Fri", 30)]


def test_invoices_at_the_same_step_are_grouped_into_one_reminder():
    facts = [
        invoice(1, due=DUE),
        invoice(2, due=DUE - dt.timedelta(days=1)),
        invoice(3, due=DUE - dt.timedelta(days=5)),
    ]
    today = DUE + dt.timedelta(days=4)
    reminders = due_reminders(policy=STANDARD, invoices=facts, today=today)
    assert [(r.offset_days, r.invoice_ids) for r in reminders] == [(3, (1, 2)), (7, (3,))]


def test_paid_cancelled_written_off_and_disputed_invoices_are_skipped():
    today = DUE + dt.timedelta(days=3)
    for status in ("paid", "cancelled", "written_off", "disputed"):
        assert due_reminders(policy=STANDARD, invoices=[invoice(status=status)], today=today) == []
    assert due_reminders(policy=STANDARD, invoices=[invoice(open_amount="0.00")], today=today) == []


def test_open_complaint_and_active_agreement_skip_the_invoice():
    today = DUE + dt.timedelta(days=3)
    assert due_reminders(policy=STANDARD, invoices=[invoice(under_open_complaint=True)], today=today) == []
    assert (
        due_reminders(policy=STANDARD, invoices=[invoice(covered_by_active_agreement=True)], today=today)
        == []
    )


def test_paused_customer_gets_nothing_until_the_pause_ends():
    today = DUE + dt.timedelta(days=3)
    assert (
        due_reminders(
            policy=STANDARD, invoices=[invoice()], today=today, paused_until=today + dt.timedelta(1)
        )
        == []
    )
    resumed = due_reminders(policy=STANDARD, invoices=[invoice()], today=today, paused_until=today)
    assert [r.offset_days for r in resumed] == [3]


def test_the_ladder_never_steps_back_when_a_due_date_moves_later():
    # +7 was sent; the ERP then moved the due date so the invoice is only 4 days late.
    facts = [invoice(due=DUE, sent={-3, 3, 7})]
    assert due_reminders(policy=STANDARD, invoices=facts, today=DUE + dt.timedelta(days=4)) == []


def test_an_invoice_found_long_overdue_gets_only_its_current_step():
    reminders = due_reminders(policy=STANDARD, invoices=[invoice()], today=DUE + dt.timedelta(days=45))
    assert [r.offset_days for r in reminders] == [30]
