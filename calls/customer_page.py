"""The customer page's timeline: everything that happened with a customer, newest first, 50 at a time.

A long-standing customer has thousands of events (calls, payments, reminders...). The page shows the
latest PAGE_SIZE and an "Older" button that loads the next PAGE_SIZE before a cursor. Paging is by key
(keyset), not by offset, so page 40 costs what page 1 costs and an event added meanwhile neither
repeats nor hides a line:

- every event has a key (day, moment, kind, id); keys are unique (kind names the source table and
  the event within it, id is that row's primary key) and totally ordered, newest first;
- each source's keys are read: its rows with a key before the cursor, in key order, capped at
  PAGE_SIZE + 1 (on PostgreSQL an index on (customer, date column) serves each read), all sources in
  one UNION ALL query of four columns;
- the keys are merged and cut at PAGE_SIZE. The global first PAGE_SIZE + 1 events are each among
  their own source's first PAGE_SIZE + 1, so the merge is exact, and "there is more" is exactly
  "the merge holds more than PAGE_SIZE";
- only then are the rows of the events shown read, by id, per source that has any (with what their
  lines name: contacts, invoices...). Reading every source's PAGE_SIZE + 1 whole rows first built
  some 400 model instances (and their prefetches) to show 50: most of the page's Python time.

The number of queries is therefore bounded per page (the keys, then one or two per source shown)
whatever the history.
Sources above calls (the dunning app's reminders) are passed in by the presentation layer as
further `Source`s, because calls may not import them.

An event that only has a date (an excuse, a complaint resolved, an agreement closed) takes the start
of its day as its moment, as the page always showed it: after the day's timed events.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import connections
from django.db.models import CharField, DateField, DateTimeField, F, Model, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import dateformat, timezone

from agreements.models import Agreement
from customers.models import Customer
from invoices.models import Payment

from .models import Complaint, Excuse, Interaction
from .selectors import Money, start_of

PAGE_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Cursor:
    """The key of one timeline event; as a cursor, "older than this event". Compared field by field."""

    day: date
    moment: datetime  # the event's moment, or the start of its day when it has only a date
    kind: str
    id: int

    def encode(self) -> str:
        micros = (self.moment - EPOCH) // timedelta(microseconds=1)
        return f"{self.day.isoformat()}.{micros}.{self.kind}.{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> "Cursor | None":
        """The cursor a link carried; None for a missing or malformed one (the page starts at the top)."""
        try:
            day, micros, kind, pk = (text or "").split(".")
            return cls(date.fromisoformat(day), EPOCH + timedelta(microseconds=int(micros)), kind, int(pk))
        except ValueError:
            return None


@dataclass
class TimelineEntry:
    """One line of the customer's story; `kind` drives its icon and colour, `key` its place."""

    key: Cursor
    kind: str
    title: str
    details: list[str] = field(default_factory=list)
    tone: str = ""
    moment: datetime | None = None  # shown (calls show their time of day)
    link: str = ""

    @property
    def day(self) -> date:
        return self.key.day

    @property
    def day_text(self) -> str:
        """The day as the line shows it (the template's `date:"j M Y"`, without a filter per line)."""
        return dateformat.format(self.key.day, "j M Y")


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    older: Cursor | None  # where the next page starts; None when this page reaches the first event


@dataclass(frozen=True)
class Source:
    """One stream of timeline events: which rows, keyed how, and how each row reads.

    `day` names a date field; `moment` a non-null datetime field, or None when the event has only
    its day. With `day_from_moment` the day is the local date of `moment` (interactions), so both
    are read from the one datetime column.
    """

    kind: str
    rows: Callable[[Customer], QuerySet]
    entry: Callable[[Model, Cursor], TimelineEntry]
    day: str = ""
    moment: str | None = None
    day_from_moment: bool = False

    def keys(self, customer: Customer, *, before: Cursor | None, limit: int) -> QuerySet:
        """This source's first `limit` keys before the cursor, as (kind, id, day, moment) rows: the
        same four columns for every source, so that all are read in one UNION ALL."""
        rows = self.rows(customer).prefetch_related(None)
        if before is not None:
            rows = rows.filter(self.older_than(before))
        order = [f"-{self.moment}"] if self.day_from_moment else [f"-{self.day}"]
        if self.moment and not self.day_from_moment:
            order.append(f"-{self.moment}")
        rows = rows.order_by(*order, "-pk")
        in_subquery = not connections[rows.db].features.supports_slicing_ordering_in_compound
        if in_subquery:  # SQLite allows no ORDER BY or LIMIT in the parts of a UNION
            rows = rows.model._default_manager.filter(pk__in=rows.values("pk")[:limit]).order_by()
        columns = rows.annotate(
            tl_kind=Value(self.kind, output_field=CharField()),
            tl_id=F("pk"),
            tl_day=Cast(Value(None), DateField()) if self.day_from_moment else F(self.day),
            tl_moment=F(self.moment) if self.moment else Cast(Value(None), DateTimeField()),
        ).values_list("tl_kind", "tl_id", "tl_day", "tl_moment")
        return columns if in_subquery else columns[:limit]

    def entries(self, customer: Customer, keys: list[Cursor]) -> list[TimelineEntry]:
        """The entries of these keys (this source's), read by id with what their lines name."""
        by_id = {key.id: key for key in keys}
        return [self.entry(row, by_id[row.pk]) for row in self.rows(customer).filter(pk__in=by_id)]

    def key_of(self, day: date | None, moment: datetime | None, pk: int) -> Cursor:
        if self.day_from_moment:
            return Cursor(timezone.localtime(moment).date(), moment, self.kind, pk)
        return Cursor(day, moment if self.moment else start_of(day), self.kind, pk)

    def older_than(self, cursor: Cursor) -> Q:
        """Rows whose key is before the cursor's, as a filter. The kind and the start of the
        cursor's day are constants here, so only the columns this source has are compared."""
        if self.kind < cursor.kind:
            same_moment = Q()
        elif self.kind == cursor.kind:
            same_moment = Q(pk__lt=cursor.id)
        else:
            same_moment = Q(pk__in=[])
        if self.day_from_moment:
            # day < cursor day  <=>  moment before the start of the cursor's day (local time)
            day_start, next_day = start_of(cursor.day), start_of(cursor.day + timedelta(days=1))
            at = self.moment
            same_day = Q(**{f"{at}__gte": day_start, f"{at}__lt": next_day})
            return Q(**{f"{at}__lt": next_day}) & (
                Q(**{f"{at}__lt": day_start})
                | (same_day & Q(**{f"{at}__lt": cursor.moment}))
                | (same_day & Q(**{at: cursor.moment}) & same_moment)
            )
        earlier_day = Q(**{f"{self.day}__lt": cursor.day})
        same_day = Q(**{self.day: cursor.day})
        if self.moment:
            later_in_day = Q(**{f"{self.moment}__lt": cursor.moment}) | (
                Q(**{self.moment: cursor.moment}) & same_moment
            )
        else:
            day_start = start_of(cursor.day)
            if day_start < cursor.moment:
                later_in_day = Q()
            elif day_start == cursor.moment:
                later_in_day = same_moment
            else:
                later_in_day = Q(pk__in=[])
        # The redundant bound lets the (customer, day) index range-scan instead of filtering.
        return Q(**{f"{self.day}__lte": cursor.day}) & (earlier_day | (same_day & later_in_day))


def timeline_page(
    customer: Customer,
    *,
    before: Cursor | None = None,
    size: int = PAGE_SIZE,
    more_sources: Iterable[Source] = (),
) -> TimelinePage:
    """The customer's `size` latest events before `before` (or the latest of all), newest first,
    across the calls app's sources and `more_sources`, with the cursor of the next page."""
    sources = {source.kind: source for source in (*SOURCES, *more_sources)}
    parts = [source.keys(customer, before=before, limit=size + 1) for source in sources.values()]
    keys = sorted(
        (
            sources[kind].key_of(day, moment, pk)
            for kind, pk, day, moment in parts[0].union(*parts[1:], all=True)
        ),
        reverse=True,
    )
    shown = keys[:size]
    per_source: dict[str, list[Cursor]] = defaultdict(list)
    for key in shown:
        per_source[key.kind].append(key)
    entries = [entry for kind, kept in per_source.items() for entry in sources[kind].entries(customer, kept)]
    # A row deleted between the two reads is simply not shown; the cursor still marks where this
    # page ended.
    entries.sort(key=lambda entry: entry.key, reverse=True)
    return TimelinePage(entries, shown[-1] if len(keys) > size else None)


# --- How each source reads -------------------------------------------------------------------


def interaction_entry(interaction: Interaction, key: Cursor) -> TimelineEntry:
    who = f" with {interaction.contact.name}" if interaction.contact else ""
    title = f"{interaction.get_channel_display()}{who}: {interaction.get_outcome_display()}"
    details = []
    if interaction.minutes_spent:
        details.append(f"{interaction.minutes_spent} min")
    if interaction.user:
        details.append(f"by {interaction.user.get_full_name() or interaction.user.username}")
    lines = [" · ".join(details)] if details else []
    if interaction.notes:
        lines.append(interaction.notes)
    if interaction.agreement:
        agreement = interaction.agreement
        lines.append(
            f"{agreement.get_kind_display()}: {Money(agreement.total_amount, agreement.currency)} "
            f"({agreement.get_state_display().lower()})"
        )
    for excuse in interaction.excuses.all():
        lines.append(
            f"Excuse: {excuse.get_category_display()}" + (f" — “{excuse.words}”" if excuse.words else "")
        )
    for complaint in interaction.complaints.all():
        lines.append(f"Complaint opened: {complaint.get_category_display()} — {complaint.description}")
    if interaction.next_action_on:
        lines.append(f"Next action on {interaction.next_action_on:%-d %b %Y}")
    tone = (
        "good" if interaction.agreement else ("warn" if interaction.outcome in ("refused", "dispute") else "")
    )
    return TimelineEntry(key, "call", title, lines, tone, moment=interaction.occurred_at)


def excuse_entry(excuse: Excuse, key: Cursor) -> TimelineEntry:
    return TimelineEntry(key, "excuse", f"Excuse: {excuse.get_category_display()}", [excuse.words])


def invoice_numbers(complaint: Complaint) -> str:
    numbers = ", ".join(invoice.number for invoice in complaint.invoices.all())
    return f"Invoices {numbers}" if numbers else ""


def complaint_opened_entry(complaint: Complaint, key: Cursor) -> TimelineEntry:
    title = f"Complaint opened: {complaint.get_category_display()}"
    return TimelineEntry(
        key, "complaint", title, [complaint.description, invoice_numbers(complaint)], tone="warn"
    )


def complaint_resolved_entry(complaint: Complaint, key: Cursor) -> TimelineEntry:
    title = f"Complaint {complaint.get_outcome_display().lower()}: {complaint.get_category_display()}"
    return TimelineEntry(key, "complaint", title, [invoice_numbers(complaint)])


def agreement_made_entry(agreement: Agreement, key: Cursor) -> TimelineEntry:
    money = Money(agreement.total_amount, agreement.currency)
    return TimelineEntry(key, "agreement", f"{agreement.get_kind_display()} made: {money}")


def agreement_closed_entry(agreement: Agreement, key: Cursor) -> TimelineEntry:
    money = Money(agreement.total_amount, agreement.currency)
    return TimelineEntry(
        key,
        "agreement",
        f"{agreement.get_kind_display()} of {money} {agreement.get_state_display().lower()}",
        [f"Made on {agreement.made_on:%-d %b %Y}"],
        tone={"kept": "good", "broken": "bad"}.get(agreement.state, ""),
    )


def payment_entry(payment: Payment, key: Cursor) -> TimelineEntry:
    return TimelineEntry(
        key,
        "payment",
        f"Payment received: {Money(payment.amount, payment.currency)}",
        [f"Reference {payment.reference}"],
        tone="good",
    )


# An excuse, complaint or agreement made during a call is told in the call's line, so their own
# lines are only for those recorded without one.
SOURCES = (
    Source(
        "call",
        lambda customer: (
            Interaction.objects.filter(customer=customer)
            .select_related("contact", "user", "agreement")
            .prefetch_related("excuses", "complaints")
        ),
        interaction_entry,
        moment="occurred_at",
        day_from_moment=True,
    ),
    Source(
        "excuse",
        lambda customer: Excuse.objects.filter(customer=customer, interaction__isnull=True),
        excuse_entry,
        day="given_on",
    ),
    Source(
        "complaint-opened",
        lambda customer: Complaint.objects.filter(
            customer=customer, interaction__isnull=True
        ).prefetch_related("invoices"),
        complaint_opened_entry,
        day="opened_on",
    ),
    Source(
        "complaint-resolved",
        lambda customer: Complaint.objects.filter(
            customer=customer, resolved_on__isnull=False
        ).prefetch_related("invoices"),
        complaint_resolved_entry,
        day="resolved_on",
    ),
    Source(
        "agreement-made",
        lambda customer: Agreement.objects.filter(customer=customer, interaction__isnull=True),
        agreement_made_entry,
        day="made_on",
        moment="created_at",
    ),
    Source(
        "agreement-closed",
        lambda customer: Agreement.objects.filter(customer=customer, closed_on__isnull=False),
        agreement_closed_entry,
        day="closed_on",
    ),
    Source(
        "payment",
        lambda customer: Payment.objects.filter(customer=customer),
        payment_entry,
        day="received_on",
        moment="created_at",
    ),
)
