"""Reads for collectors: today's worklist in priority order, and what the customer page shows.

What "needs action today" means (a customer is on the worklist when any of these holds):
- broken: an agreement broke in the last BROKEN_LOOKBACK_DAYS and nobody has spoken to the
  customer since the day it broke;
- task: an open task (call, follow-up, broken agreement, review...) is due today or earlier;
- promise due: an instalment of an active agreement falls due today and nobody spoke to the
  customer today (a courtesy check before the promise breaks);
- overdue: an open, undisputed invoice is OVERDUE_AFTER_DAYS or more past due, with no active
  agreement, no dunning pause, no open task planned for later (someone already chose a date) and
  no contact in the last QUIET_DAYS;
- warning: the reports app flags the customer as paying worse than usual (its kept early warning)
  and nobody has spoken to the customer in the last QUIET_DAYS.
Logging a call therefore takes a customer off today's list: it completes today's call tasks,
counts as contact, and a promise makes an active agreement.

The reasons and the priority are computed in SQL from each customer's precomputed `Standing` row
(calls.standing), so a page of the worklist costs the same few queries and reads no invoice, whatever
the size of the ledger; the per-row details (amounts per currency, reasons in words) are fetched for
the customers of one page only.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import cast

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    Expression,
    F,
    Func,
    IntegerField,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast, Coalesce, JSONObject
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual
from django.utils import dateformat, numberformat, timezone
from django.utils.formats import get_format

from agreements.choices import AgreementState, InstalmentState
from agreements.models import Agreement, Instalment
from customers.access import Actor, Role, scope_to_portfolio
from customers.fields import MONEY_DIGITS, MONEY_PLACES
from customers.models import Contact, Customer, Segment
from invoices.choices import InvoiceStatus
from invoices.models import Invoice

from .choices import ExcuseCategory, TaskKind, TaskStatus
from .models import Excuse, Standing, Task
from .standing import REASON_COLUMNS, not_restated_for, overdue_amount_as_of

MONEY = DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
OVERDUE_AFTER_DAYS = 7  # the first reminders do their work before a person picks up the phone
QUIET_DAYS = 7  # after a contact, give the customer a week before the overdue rule brings them back
BROKEN_LOOKBACK_DAYS = 60
WARNING_POINTS = 100  # below a broken promise or a task: a warning is a prompt to look, not a default
LONG_OVERDUE_DAYS = 30
EXCUSE_WINDOW_DAYS = 183  # "in 6 months"


class Reason:
    BROKEN = "broken"
    TASK = "task"
    PROMISE_DUE = "promise_due"
    OVERDUE = "overdue"
    WARNING = "warning"
    CHOICES = [
        (BROKEN, "Broken agreement"),
        (TASK, "Task due"),
        (PROMISE_DUE, "Promise due today"),
        (OVERDUE, "Overdue invoices"),
        (WARNING, "Paying worse than usual"),
    ]


# Where each name the worklist filters and sorts by lives: on the Customer rows of `worklist`, and on
# the kept `Standing` rows that today's page is found in (`worklist_page`), so one `filter_worklist`
# serves both. `worth_it` is the reports app's kept score (a reverse one-to-one: no import of reports).
ON_CUSTOMER = {
    "pk": "pk",
    "name": "name",
    "segment": "segment",
    "collector": "collector",
    "worth_it": "worth_it__score",
    "priority": "priority",
    "overdue_amount": "overdue_amount",
    "oldest_due_date": "oldest_due_date",
    "reason": "reason_{}",
}
ON_STANDING = {
    **ON_CUSTOMER,
    "pk": "customer_id",
    "name": "customer__name",
    "segment": "customer__segment",
    "worth_it": "worth_it_score",  # the kept score's copy, in the indexes (calls.standing)
    "oldest_due_date": "overdue_since",
}


def sorts(fields: dict) -> dict:
    return {
        "priority": (f"-{fields['priority']}", fields["oldest_due_date"], fields["pk"]),
        "amount": (f"-{fields['overdue_amount']}", fields["pk"]),
        "days": (F(fields["oldest_due_date"]).asc(nulls_last=True), fields["pk"]),
        "name": (fields["name"], fields["pk"]),
        # Best first: of the customers that need action, a call is best spent where the customer is
        # worth keeping (pays, answers); the lowest scores are for the max filter (prepayment, agency).
        "worth_it": (F(fields["worth_it"]).desc(nulls_last=True), fields["pk"]),
    }


SORTS = sorts(ON_CUSTOMER)


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def worklist(*, user: Actor, today: date, kept: bool | None = None) -> QuerySet[Customer]:
    """The customers in the user's portfolio that need action today, annotated with the facts
    behind it (`reason_*` flags, `overdue_amount` in the customer's currency, `oldest_due_date`,
    `last_contact_at`) and a `priority`, highest first. A credit manager sees every customer.

    `kept=True` reads the day's worklist stored in the standings (an index walk), valid only when
    every row is restated for `today`; False computes the day from the facts; None asks the
    database which applies (one query; `worklist_page` folds that question into its first query).
    """
    customers = scope_to_portfolio(Customer.objects.all(), user, customer_path="")
    if kept is None:
        kept = not Standing.objects.filter(not_restated_for(today)).exists()
    if kept:
        facts = kept_worklist_facts(customers, today=today)
    else:
        facts = with_worklist_facts(customers, today=today).filter(WorklistReasons(today).any)
    return (
        with_row_details(facts, today=today)
        # The reports app's kept worth-it score and early warning (reverse one-to-ones), read with the
        # page's rows.
        .select_related("segment", "collector", "worth_it", "early_warning")
        .order_by(*SORTS["priority"])
    )


def kept_worklist_facts(customers: QuerySet[Customer], *, today: date) -> QuerySet[Customer]:
    """The worklist's annotations read from the day's worklist stored in each `Standing` (restated
    for `today` by calls.standing with `with_worklist_facts` itself), so no expression is computed
    per customer and the default order is the index `standing_worklist_order`. The stored overdue
    amount is valid on the stored day: every restatement first makes it so."""
    return customers.filter(standing__priority_as_of=today, standing__on_worklist=True).annotate(
        overdue_amount=F("standing__overdue_amount"),
        oldest_due_date=F("standing__overdue_since"),
        last_contact_at=F("standing__last_contact_at"),
        priority=F("standing__priority"),
        **{name: F(f"standing__{name}") for name in REASON_COLUMNS},
    )


def worklist_page(
    *, user: Actor, criteria: dict, today: date, number: str | int | None, per_page: int
) -> Page:
    """One page of the user's worklist, filtered and sorted by the form's cleaned data.

    Read from the day's kept rows when every standing is restated for today: the page's ids and the
    count come from the `Standing` rows alone (in the default order an index walk, the count an
    index-only scan; no join to customers unless a filter or sort names the customer's own columns),
    then the page's 25 customers are read in full. Whether the rows are today's is asked in that same
    first query. When they are not (after midnight, before the daily roll) or nothing is found, the
    page is computed live, as before.
    """
    kept_ids = filter_worklist(
        scope_to_portfolio(
            Standing.objects.filter(priority_as_of=today, on_worklist=True), user, customer_path=""
        ),
        criteria=criteria,
        today=today,
        fields=ON_STANDING,
    )
    kept = worklist(user=user, today=today, kept=True)
    guard = Exists(Standing.objects.filter(not_restated_for(today)))
    page = CountingPaginator(kept, per_page, guard=guard, ids=(kept_ids, "customer_id")).get_page(number)
    if page is not None:
        return page
    live = filter_worklist(worklist(user=user, today=today, kept=False), criteria=criteria, today=today)
    return CountingPaginator(live, per_page).get_page(number)


@dataclass
class Choice:
    """One option of a worklist dropdown: the value submitted and the label shown."""

    pk: int
    label: str


@dataclass
class WorklistChoices:
    """What the worklist's dropdowns offer: segments, and for a credit manager the collectors twice,
    by username in the filter and by full name in the assign box."""

    segments: list[Choice] = field(default_factory=list)
    collectors: list[Choice] = field(default_factory=list)
    assignees: list[Choice] = field(default_factory=list)


def worklist_choices(*, with_collectors: bool) -> WorklistChoices:
    """The worklist's dropdown options in one query, read on every request (so a collector added a
    moment ago is offered): the segments, and with `with_collectors` the users holding the collector
    role, folded into the same query with UNION ALL. The filter form checks a choice against these
    lists, so filtering by segment or collector costs no further query either."""
    text = {"output_field": CharField()}
    columns = ("kind", "pk", "label", "first", "last")
    found: QuerySet = (
        Segment.objects.order_by()
        .annotate(
            kind=Value("segment", **text), label=F("name"), first=Value("", **text), last=Value("", **text)
        )
        .values_list(*columns)
    )
    if with_collectors:
        users = (
            get_user_model()
            .objects.filter(groups__name=Role.COLLECTOR.label)
            .order_by()
            .annotate(
                kind=Value("user", **text), label=F("username"), first=F("first_name"), last=F("last_name")
            )
        )
        found = found.union(users.values_list(*columns), all=True)
    choices = WorklistChoices()
    # As the models sort them: segments by name, collectors by username.
    for kind, pk, label, first_name, last_name in found.order_by("kind", "label", "pk"):
        if kind == "segment":
            choices.segments.append(Choice(pk, label))
        else:
            choices.collectors.append(Choice(pk, label))
            choices.assignees.append(Choice(pk, f"{first_name} {last_name}".strip() or label))
    return choices


class WorklistReasons:
    """Each reason as a condition on the customer's `Standing` row (and, for a promise due, on the
    instalments falling due today), written flat on the stored columns: these conditions are
    evaluated for every customer of the portfolio, so they avoid nesting one CASE in another.

    calls.standing explains why each equals its live definition (`live_worklist_facts`); the tests
    compare both over random histories.
    """

    def __init__(self, today: date):
        contact = "standing__last_contact_at"
        self.not_contacted_today = Q(**{f"{contact}__isnull": True}) | Q(
            **{f"{contact}__lt": start_of(today)}
        )
        quiet = Q(**{f"{contact}__isnull": True}) | Q(
            **{f"{contact}__lt": start_of(today - timedelta(days=QUIET_DAYS))}
        )
        self.broken = Q(standing__latest_broken_on__gte=today - timedelta(days=BROKEN_LOOKBACK_DAYS)) & (
            Q(**{f"{contact}__isnull": True}) | Q(**{f"{contact}__lt": F("standing__latest_broken_on")})
        )
        self.task = Q(standing__first_open_task_on__lte=today)
        promise_due_customers = Instalment.objects.filter(
            agreement__state=AgreementState.ACTIVE, state=InstalmentState.PENDING, due_date=today
        ).values("agreement__customer_id")
        self.promise_due = Q(pk__in=promise_due_customers) & self.not_contacted_today
        # oldest_open_due_on <= today - 7 is "the oldest overdue due date is 7+ days back": any such
        # date is before today, so it is the oldest overdue one.
        self.overdue = (
            Q(standing__oldest_open_due_on__lte=today - timedelta(days=OVERDUE_AFTER_DAYS))
            & Q(standing__has_active_agreement=False)
            & (Q(standing__last_open_task_on__isnull=True) | Q(standing__last_open_task_on__lte=today))
            & quiet
            & ~Q(dunning_paused_until__gte=today)
        )
        # Flagged by the reports app's early warning (the reverse one-to-one; no import of reports).
        self.warning = Q(early_warning__isnull=False) & quiet
        self.any = self.broken | self.task | self.promise_due | self.overdue | self.warning
        # The stored overdue amount holds from overdue_as_of through next_due_on (calls.models.Standing).
        self.amount_valid = Q(standing__overdue_as_of__lte=today) & (
            Q(standing__next_due_on__isnull=True) | Q(standing__next_due_on__gte=today)
        )

    def on_worklist_flag(self) -> Case:
        return flag(self.any)


def with_worklist_facts(customers: QuerySet[Customer], *, today: date) -> QuerySet[Customer]:
    """Annotate each customer with the reasons it needs action today and its priority (all in SQL).

    The facts come from the customer's precomputed `Standing` row (calls.standing explains each column
    and why the reasons derived here equal their live definitions, `calls.standing.live_worklist_facts`):
    one join, no subquery over the ledger, except the overdue amount of a row whose stored amount is
    not valid for `today` (computed live for that row only) and the instalments falling due today.
    """
    reasons = WorklistReasons(today)
    live_amount = overdue_amount_as_of(today)
    return customers.annotate(
        overdue_amount=Case(
            When(reasons.amount_valid, then=F("standing__overdue_amount")),
            default=live_amount,
            output_field=MONEY,
        ),
        oldest_due_date=Case(
            When(standing__oldest_open_due_on__lt=today, then=F("standing__oldest_open_due_on")), default=None
        ),
        last_contact_at=F("standing__last_contact_at"),
        reason_broken=flag(reasons.broken),
        reason_task=flag(reasons.task),
        reason_promise_due=flag(reasons.promise_due),
        reason_overdue=flag(reasons.overdue),
        reason_warning=flag(reasons.warning),
        priority=(
            _points(reasons.broken, 400)
            + _points(reasons.task, 300)
            + _points(reasons.promise_due, 250)
            + _points(reasons.warning, WARNING_POINTS)
            + _days_late_points("standing__oldest_open_due_on", today)
            + Case(
                When(reasons.amount_valid, then=_amount_points(F("standing__overdue_amount"))),
                default=_amount_points(live_amount),
                output_field=IntegerField(),
            )
        ),
    )


def with_row_details(customers: QuerySet[Customer], *, today: date) -> QuerySet[Customer]:
    """Annotate what a worklist row spells out: the latest broken agreement in the window, the first
    two open tasks due, the instalment falling due today (each a small JSON object or text).

    Correlated subqueries in the SELECT list only: the worklist's filter and sort never use them, so
    the database computes them just for the rows a page reads (25), in the page's own query rather
    than one query per kind of detail.
    """
    broken = Agreement.objects.filter(
        customer=OuterRef("pk"),
        state=AgreementState.BROKEN,
        closed_on__gte=today - timedelta(days=BROKEN_LOOKBACK_DAYS),
    ).order_by("-closed_on", "-pk")
    tasks = Task.objects.filter(customer=OuterRef("pk"), status=TaskStatus.OPEN, due_on__lte=today).order_by(
        "due_on", "pk"
    )
    promise = Instalment.objects.filter(
        agreement__customer=OuterRef("pk"),
        agreement__state=AgreementState.ACTIVE,
        state=InstalmentState.PENDING,
        due_date=today,
    ).order_by("pk")
    return customers.annotate(
        broken_detail=json_of(
            broken, kind="kind", amount=as_text("total_amount"), currency="currency", closed_on="closed_on"
        ),
        first_task_detail=json_of(tasks, reason="reason", kind="kind"),
        second_task_reason=Subquery(tasks.values("reason")[1:2]),
        promise_detail=json_of(promise, amount=as_text("amount"), currency="agreement__currency"),
    )


def json_of(queryset: QuerySet, **fields: str) -> Subquery:
    """The first row of `queryset` as a JSON object of `fields` (one column for several values)."""
    return Subquery(queryset.values(detail=JSONObject(**fields))[:1], output_field=JSONField())


def as_text(field: str) -> Cast:
    """Money as text inside JSON, so it comes back a Decimal, never a float."""
    return Cast(field, output_field=CharField())


def flag(condition: Q) -> Case:
    """True or False, never NULL (a customer without a standing row has no reason, not an unknown one)."""
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


def _points(condition: Q, value: int) -> Case:
    return Case(When(condition, then=Value(value)), default=Value(0), output_field=IntegerField())


def _days_late_points(due_field: str, today: date) -> Case:
    """Up to 300 points for lateness of the oldest overdue due date (`due_field`; none when not yet
    past). Thresholds are compared to dates, not computed as date differences, so they run anywhere."""
    return Case(
        When(**{f"{due_field}__lt": today - timedelta(days=90)}, then=Value(300)),
        When(**{f"{due_field}__lt": today - timedelta(days=60)}, then=Value(200)),
        When(**{f"{due_field}__lt": today - timedelta(days=30)}, then=Value(150)),
        When(**{f"{due_field}__lt": today}, then=Value(50)),
        default=Value(0),
        output_field=IntegerField(),
    )


def _amount_points(amount: Expression) -> Case:
    """Up to 300 points for the overdue amount at stake (an expression, in the customer's currency)."""
    return Case(
        When(GreaterThanOrEqual(amount, Value(Decimal(50_000))), then=Value(300)),
        When(GreaterThanOrEqual(amount, Value(Decimal(10_000))), then=Value(200)),
        When(GreaterThanOrEqual(amount, Value(Decimal(1_000))), then=Value(100)),
        When(GreaterThan(amount, Value(Decimal(0))), then=Value(25)),
        default=Value(0),
        output_field=IntegerField(),
    )


def priority_expression(today: date) -> CombinedExpression:
    """Points: what broke or was planned comes first, then lateness and amount at stake.

    Broken 400, task 300, promise due 250, early warning 100; days late up to 300; amount (customer's
    currency) up to 300.
    Over annotations named as the worklist's (`reason_*`, `oldest_due_date`, `overdue_amount`): the
    live definition's form; `with_worklist_facts` computes the same points from the stored columns.
    """
    return (
        _points(Q(reason_broken=True), 400)
        + _points(Q(reason_task=True), 300)
        + _points(Q(reason_promise_due=True), 250)
        + _points(Q(reason_warning=True), WARNING_POINTS)
        + _days_late_points("oldest_due_date", today)
        + _amount_points(F("overdue_amount"))
    )


def filter_worklist(
    queryset: QuerySet, *, criteria: dict, today: date, fields: dict = ON_CUSTOMER
) -> QuerySet:
    """Narrow the worklist by the filter form's cleaned data (segment, collector, amount, days, reason,
    worth-it score range). `fields` says where each name lives (ON_CUSTOMER or ON_STANDING)."""
    conditions = {
        "segment": (fields["segment"], criteria.get("segment") or None),
        "collector": (fields["collector"], criteria.get("collector") or None),
        "unassigned": (f"{fields['collector']}__isnull", True if criteria.get("unassigned") else None),
        "min_amount": (f"{fields['overdue_amount']}__gte", criteria.get("min_amount")),
        "min_worth_it": (f"{fields['worth_it']}__gte", criteria.get("min_worth_it")),
        "max_worth_it": (f"{fields['worth_it']}__lte", criteria.get("max_worth_it")),
    }
    if criteria.get("min_days_overdue") is not None:
        since = today - timedelta(days=criteria["min_days_overdue"])
        conditions["min_days_overdue"] = (f"{fields['oldest_due_date']}__lte", since)
    if criteria.get("reason"):
        conditions["reason"] = (fields["reason"].format(criteria["reason"]), True)
    queryset = queryset.filter(
        **{lookup: value for lookup, value in conditions.values() if value is not None}
    )
    order = sorts(fields)
    return queryset.order_by(*order.get(criteria.get("sort") or "priority", order["priority"]))


class CountingPaginator(Paginator):
    """A Paginator for the worklist: one narrow query finds the page's customers and counts the list,
    a second reads those customers in full.

    The reasons and priority are computed over every customer of the portfolio: a separate COUNT
    would compute them all a second time, and sorting full rows (customer, segment, collector)
    carries wide tuples through the sort. So the first query sorts ids only and counts with
    COUNT(*) OVER (); the second reads just the page's rows (measured on 20,000 customers: half the
    time of COUNT plus the page query). Past the last page (no row carries the count) it falls back
    to Paginator's own count and answers with the last page, as `get_page` always did.

    With a `guard` (a boolean SQL expression evaluated once, in the first query), `get_page` answers
    None when the guard holds or nothing is found, so the caller can read the page another way. With
    `ids` (a sorted queryset and the name of its column of customer ids), the first query runs on it,
    and counts with a scalar subquery instead: on the kept rows the count is an index-only scan, and
    without a window over every row the page itself is a LIMIT the database can stop early (with
    COUNT(*) OVER () PostgreSQL 15 still chose the name index and probed all 50,000 customers for the
    name sort: 470 ms; now it stops after the page's rows).
    """

    def __init__(self, object_list, per_page, *, guard=None, ids=None):
        super().__init__(object_list, per_page)
        self.guard = guard
        self.ids = ids

    def get_page(self, number):
        try:
            number = max(int(number or 1), 1)
        except (TypeError, ValueError):
            number = 1
        bottom = (number - 1) * self.per_page
        # object_list is always a queryset here (the worklist's); the stubs allow any sequence.
        ids, id_field = self.ids or (cast(QuerySet, self.object_list), "pk")
        full_count = Window(Count("*")) if self.ids is None else _count_of(ids)
        counted = ids.annotate(
            full_count=full_count, guarded=self.guard or Value(False, output_field=BooleanField())
        ).values_list(id_field, "full_count", "guarded")
        found = list(counted[bottom : bottom + self.per_page])
        if self.guard is not None and (not found or found[0][2]):
            return None
        if not found:
            return super().get_page(number)
        self.__dict__["count"] = found[0][1]  # Paginator.count is a cached_property
        by_id = {row.pk: row for row in self.object_list.filter(pk__in=[pk for pk, _, _ in found])}
        return self._get_page([by_id[pk] for pk, _, _ in found if pk in by_id], number, self)


def _count_of(queryset: QuerySet) -> Subquery:
    """COUNT(*) of `queryset` as a scalar subquery (no GROUP BY: one row, whatever the filters)."""
    count = Func(Value(1), function="COUNT", output_field=IntegerField())
    return Subquery(queryset.order_by().annotate(rows=count).values("rows")[:1], output_field=IntegerField())


@dataclass
class Money:
    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"


@dataclass
class WorklistRow:
    customer: Customer
    reasons: list[str] = field(default_factory=list)
    overdue: list[Money] = field(default_factory=list)
    days_late: int = 0
    next_action: str = ""
    worth_it: object = None  # the reports app's WorthIt (calls does not import reports)
    worth_it_title: str = ""  # its components in words, as the score's tooltip shows them


def with_worth_it(rows: list[WorklistRow], *, scores: dict) -> list[WorklistRow]:
    """Give each row its worth-it score (`scores`: WorthIt by customer id) and the tooltip that spells
    out its components, "label: points · " each.

    Written here, not with a loop in the template: nine components on 25 rows were 225 template
    lookups and localized numbers, a third of the page's rendering. The points are localized as the
    template would (same separators, read once per page instead of once per number)."""
    number = _localized_number()
    for row in rows:
        row.worth_it = scores.get(row.customer.pk)
        components = getattr(row.worth_it, "components", ())
        row.worth_it_title = "".join(f"{c.label}: {number(c.points)} · " for c in components)
    return rows


def with_table_texts(invoices: list[Invoice]) -> list[Invoice]:
    """Give each of the customer page's open invoices its due date and amounts as the table shows
    them (`due_text`, `amount_text`, `open_text`: the template's `date:"j M Y"` and
    `floatformat:"2g"`), formatted here with the language's separators read once: two hundred rows
    of date and number filters were most of the page's table rendering."""
    money = _localized_money()
    for invoice in invoices:
        invoice.due_text = dateformat.format(invoice.due_date, "j M Y")
        invoice.amount_text = money(invoice.amount)
        invoice.open_text = money(invoice.open_amount)
    return invoices


def _localized_money() -> Callable[[Decimal], str]:
    """The template's `floatformat:"2g"` for amounts of two places (always grouped), with the
    active language's formats looked up once."""
    decimal_separator = get_format("DECIMAL_SEPARATOR")
    grouping = get_format("NUMBER_GROUPING")
    thousand_separator = get_format("THOUSAND_SEPARATOR")
    return lambda value: numberformat.format(
        value, decimal_separator, 2, grouping, thousand_separator, force_grouping=True, use_l10n=True
    )


def _localized_number() -> Callable[[Decimal | int], str]:
    """`django.utils.formats.localize` for numbers, with the active language's formats looked up once."""
    decimal_separator = get_format("DECIMAL_SEPARATOR")
    grouping = get_format("NUMBER_GROUPING")
    thousand_separator = get_format("THOUSAND_SEPARATOR")
    return lambda value: numberformat.format(
        value, decimal_separator, None, grouping, thousand_separator, use_l10n=True
    )


def worklist_rows(customers: list[Customer], *, today: date) -> list[WorklistRow]:
    """Spell out why each customer of one worklist page needs action, with per-currency amounts.

    The customers come from `worklist` (with `with_row_details`); one more query for the whole page,
    the overdue amounts per currency, whatever its length.
    """
    overdue = overdue_by_currency([customer.pk for customer in customers], today=today)
    rows = []
    for customer in customers:
        row = WorklistRow(customer=customer)
        totals = overdue.get(customer.pk, [])
        row.overdue = [Money(t["amount"], t["currency"]) for t in totals]
        if customer.oldest_due_date:
            row.days_late = (today - customer.oldest_due_date).days
        broken = customer.broken_detail
        if customer.reason_broken and broken:
            noun = "promise" if broken["kind"] == "promise" else "payment plan"
            closed_on = date.fromisoformat(broken["closed_on"])
            row.reasons.append(
                f"{noun.capitalize()} of {Money(Decimal(broken['amount']), broken['currency'])} "
                f"broken on {closed_on:%-d %b}"
            )
        task_reasons = [
            reason for reason in (_task_detail(customer, "reason"), customer.second_task_reason) if reason
        ]
        if customer.reason_task:
            row.reasons.extend(task_reasons)
        promise = customer.promise_detail
        if customer.reason_promise_due and promise:
            row.reasons.append(
                f"Promise of {Money(Decimal(promise['amount']), promise['currency'])} falls due today"
            )
        if customer.reason_overdue:
            row.reasons.append(overdue_reason(totals))
        row.reasons.extend(early_warning_reasons(customer))
        row.next_action = _next_action_for(customer, _task_detail(customer, "kind"))
        rows.append(row)
    return rows


def early_warning_reasons(customer: Customer) -> list[str]:
    """Why the reports app flags the customer as paying worse, in words (its kept `EarlyWarning`, read
    through the reverse one-to-one so calls never imports reports; none when it is not flagged)."""
    try:
        return list(customer.early_warning.reasons)
    except ObjectDoesNotExist:
        return []


def _task_detail(customer: Customer, key: str) -> str | None:
    return (customer.first_task_detail or {}).get(key)


def overdue_reason(totals: list[dict]) -> str:
    long_count = sum(t["long_count"] for t in totals)
    if long_count:
        amounts = ", ".join(str(Money(t["long_amount"], t["currency"])) for t in totals if t["long_count"])
        noun = "invoice" if long_count == 1 else "invoices"
        return f"{long_count} {noun} {LONG_OVERDUE_DAYS}+ days overdue, {amounts}"
    count = sum(t["count"] for t in totals)
    amounts = ", ".join(str(Money(t["amount"], t["currency"])) for t in totals)
    noun = "invoice" if count == 1 else "invoices"
    return f"{count} {noun} overdue, {amounts}"


def _next_action_for(customer: Customer, first_task_kind: str | None) -> str:
    channel = customer.get_preferred_channel_display().lower()
    if customer.reason_broken:
        return "Call: ask why the agreement broke and agree new terms"
    if first_task_kind:
        return TaskKind(first_task_kind).label
    if customer.reason_promise_due:
        return "Check today's payment; remind if not received"
    return f"Call (prefers {channel})" if channel != "phone" else "Call"


def overdue_by_currency(customer_ids: list[int], *, today: date) -> dict[int, list[dict]]:
    """Per customer and currency: overdue count and amount, and the part 30+ days overdue."""
    long_before = today - timedelta(days=LONG_OVERDUE_DAYS)
    open_part = F("amount") - F("allocated_amount")
    rows = (
        Invoice.objects.filter(
            customer_id__in=customer_ids,
            status=InvoiceStatus.OPEN,
            due_date__lt=today,
            allocated_amount__lt=F("amount"),
        )
        .values("customer_id", "currency")
        .annotate(
            count=Count("pk"),
            overdue_total=Sum(open_part, output_field=MONEY),
            long_count=Count("pk", filter=Q(due_date__lt=long_before)),
            long_amount=Coalesce(
                Sum(open_part, filter=Q(due_date__lt=long_before), output_field=MONEY),
                Value(Decimal("0.00")),
                output_field=MONEY,
            ),
        )
        .order_by("customer_id", "-overdue_total")
    )
    grouped: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        row["amount"] = row.pop("overdue_total")
        grouped[row["customer_id"]].append(row)
    return grouped


# --- The customer page ------------------------------------------------------------------------

AGING_BUCKETS = (
    ("current", "Not yet due"),
    ("1-30", "1-30 days"),
    ("31-60", "31-60 days"),
    ("61-90", "61-90 days"),
    ("90+", "Over 90 days"),
)


def aging_bucket(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


@dataclass
class CurrencyPosition:
    """What a customer owes in one currency, split by age."""

    currency: str
    open_amount: Decimal = Decimal("0.00")
    overdue_amount: Decimal = Decimal("0.00")
    disputed_amount: Decimal = Decimal("0.00")
    buckets: dict[str, Decimal] = field(
        default_factory=lambda: {key: Decimal("0.00") for key, _ in AGING_BUCKETS}
    )


def open_invoices_of(customer: Customer, *, today: date, limit: int = 200) -> list[Invoice]:
    """The customer's invoices with money still open (disputed included), oldest due first,
    each with `open_amount`, `days_overdue` and `aging` set."""
    invoices = list(
        Invoice.objects.filter(
            customer=customer,
            status__in=(InvoiceStatus.OPEN, InvoiceStatus.DISPUTED),
            allocated_amount__lt=F("amount"),
        ).order_by("due_date", "number")[:limit]
    )
    for invoice in invoices:
        invoice.open_amount = invoice.amount - invoice.allocated_amount
        invoice.days_overdue = max((today - invoice.due_date).days, 0)
        invoice.aging = aging_bucket(invoice.days_overdue)
    return invoices


def position_of(customer: Customer, *, today: date) -> list[CurrencyPosition]:
    """Open, overdue and disputed amounts per currency with the aging buckets, aggregated in SQL."""
    open_part = F("amount") - F("allocated_amount")
    chased = Invoice.objects.filter(
        customer=customer,
        status__in=(InvoiceStatus.OPEN, InvoiceStatus.DISPUTED),
        allocated_amount__lt=F("amount"),
    )

    def total(condition: Q | None = None):
        return Coalesce(
            Sum(open_part, filter=condition, output_field=MONEY), Value(Decimal("0.00")), output_field=MONEY
        )

    undisputed = Q(status=InvoiceStatus.OPEN)
    rows = (
        chased.values("currency")
        .annotate(
            open_amount=total(),
            overdue_amount=total(undisputed & Q(due_date__lt=today)),
            disputed_amount=total(Q(status=InvoiceStatus.DISPUTED)),
            b_current=total(Q(due_date__gte=today)),
            b_1_30=total(Q(due_date__lt=today, due_date__gte=today - timedelta(days=30))),
            b_31_60=total(
                Q(due_date__lt=today - timedelta(days=30), due_date__gte=today - timedelta(days=60))
            ),
            b_61_90=total(
                Q(due_date__lt=today - timedelta(days=60), due_date__gte=today - timedelta(days=90))
            ),
            b_90=total(Q(due_date__lt=today - timedelta(days=90))),
        )
        .order_by("currency")
    )
    positions = []
    for row in rows:
        position = CurrencyPosition(
            currency=row["currency"],
            open_amount=row["open_amount"],
            overdue_amount=row["overdue_amount"],
            disputed_amount=row["disputed_amount"],
        )
        position.buckets = dict(
            zip(
                [key for key, _ in AGING_BUCKETS],
                [row["b_current"], row["b_1_30"], row["b_31_60"], row["b_61_90"], row["b_90"]],
                strict=True,
            )
        )
        positions.append(position)
    return positions


def open_position_of(
    customer: Customer, *, today: date, limit: int = 200
) -> tuple[list[Invoice], list[CurrencyPosition]]:
    """`open_invoices_of` and `position_of` from one read when the customer has fewer than `limit`
    open invoices (nearly always): the list then holds every row the totals sum, so they are summed
    from it instead of read again. With `limit` or more, the totals come from SQL as before."""
    invoices = open_invoices_of(customer, today=today, limit=limit)
    if len(invoices) >= limit:
        return invoices, position_of(customer, today=today)
    positions: dict[str, CurrencyPosition] = {}
    for invoice in invoices:
        position = positions.setdefault(invoice.currency, CurrencyPosition(currency=invoice.currency))
        position.open_amount += invoice.open_amount
        if invoice.status == InvoiceStatus.DISPUTED:
            position.disputed_amount += invoice.open_amount
        elif invoice.days_overdue:
            position.overdue_amount += invoice.open_amount
        position.buckets[invoice.aging] += invoice.open_amount  # disputed ones age too
    return invoices, [positions[currency] for currency in sorted(positions)]


def agreement_history(customer: Customer, *, limit: int = 50) -> list[Agreement]:
    """The customer's agreements, newest first, with instalments, invoices and who made them."""
    return list(
        Agreement.objects.filter(customer=customer)
        .select_related("made_by")
        .prefetch_related("instalments", "invoices")
        .order_by("-made_on", "-pk")[:limit]
    )


ORDINALS = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def repeated_excuses(customer: Customer, *, today: date) -> list[str]:
    """Excuse categories given twice or more in the last six months, in words:
    "third 'Invoice not received' in 6 months"."""
    rows = (
        Excuse.objects.filter(customer=customer, given_on__gt=today - timedelta(days=EXCUSE_WINDOW_DAYS))
        .values("category")
        .annotate(times=Count("pk"))
        .filter(times__gte=2)
        .order_by("-times", "category")
    )
    labels = dict(ExcuseCategory.choices)
    flags = []
    for row in rows:
        ordinal = ORDINALS.get(row["times"], f"{row['times']}th")
        flags.append(f"{ordinal} '{labels.get(row['category'], row['category'])}' in 6 months")
    return flags


def contacts_of(customer: Customer) -> QuerySet[Contact]:
    return customer.contacts.order_by("-is_primary", "name")
