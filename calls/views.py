"""The browser UI collectors and credit managers work in: worklist, customer page, lists.

Views are the presentation layer: they read selectors of any app (dunning reminders, reports'
worth-it) and write only through services. Who may open what is decided by the capability table
in customers.access (README: "Who may do what"); in short:
- credit manager: everything, assigns customers and resolves complaints;
- collector: their portfolio only (other customers are a 404), logs calls and edits contacts;
- finance lead: every page read-only; integrator: no UI pages (home and API token only).
"""

from datetime import date
from functools import wraps
from importlib import import_module

import django_filters
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from agreements.models import Agreement
from audit.selectors import customer_history, rows_of
from customers.access import Capability, may, scope_to_portfolio
from customers.models import Contact, Customer
from customers.redirects import redirect_to_next
from customers.services import assign_collector, save_contact
from invoices.models import Invoice

from . import customer_page, selectors, statement
from .forms import AssignForm, ContactForm, LogCallForm, ResolveComplaintForm, WorklistFilterForm
from .models import Complaint
from .services import log_call, resolve_complaint

PAGE_SIZE = 25


def today_for(request) -> date:
    """The day the pages are about: the local date, unless settings.CREDITDESK_TODAY pins one
    (tests move the date through it; it is never set in production)."""
    return getattr(settings, "CREDITDESK_TODAY", None) or timezone.localdate()


def requires(*capabilities: Capability):
    """Only users holding every one of these capabilities may open the view; others get 403
    (anonymous users go to the login page)."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not all(may(request.user, capability) for capability in capabilities):
                raise PermissionDenied("Your role cannot open this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def can_write(user) -> bool:
    return may(user, Capability.LOG_CALLS)


def visible_customers(user):
    return scope_to_portfolio(Customer.objects.all(), user, customer_path="")


def customer_for(request, pk: int) -> Customer:
    """The customer, if the user may see it: a collector gets 404 outside their portfolio."""
    return get_object_or_404(visible_customers(request.user).select_related("segment", "collector"), pk=pk)


# --- Worklist ---------------------------------------------------------------------------------


@requires(Capability.LOG_CALLS)
def worklist(request):
    today = today_for(request)
    is_manager = may(request.user, Capability.DECIDE_CREDIT_CONTROL)
    form = WorklistFilterForm(request.GET or None, can_see_all=is_manager)
    queryset = selectors.worklist(user=request.user, today=today)
    criteria = form.cleaned_data if form.is_valid() else {}
    queryset = selectors.filter_worklist(queryset, criteria, today=today)
    page = selectors.CountingPaginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    customers = list(page.object_list)
    rows = selectors.worklist_rows(customers, today=today)
    scores = worth_it_for(customers=customers, today=today)
    for row in rows:
        row.worth_it = scores.get(row.customer.pk)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "calls/worklist.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "today": today,
            "query": query.urlencode(),
            "is_manager": is_manager,
            "collectors": AssignForm.base_fields["collector"].queryset if is_manager else [],
        },
    )


@require_POST
@requires(Capability.DECIDE_CREDIT_CONTROL)
def assign(request):
    """Put the chosen customers in a collector's portfolio, or in the manager's own ("assign to me")."""
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose at least one customer to assign.")
        return redirect_to_next(request, "calls:worklist")
    collector = request.user if "to_me" in request.POST else form.cleaned_data["collector"]
    if collector is None:
        messages.error(request, "Choose the collector to assign them to.")
        return redirect_to_next(request, "calls:worklist")
    count = assign_collector(
        customers=form.cleaned_data["customers"], collector=collector, actor=request.user
    )
    who = "you" if collector == request.user else (collector.get_full_name() or collector.username)
    messages.success(request, f"{count} customer{'s' if count != 1 else ''} assigned to {who}.")
    return redirect_to_next(request, "calls:worklist")


def worth_it_for(customer_ids: list[int] = (), *, today: date, customers=()) -> dict:
    """Worth-it scores from the reports app (the kept ones, which the worklist sorts and filters by;
    `customers` may come with them joined); an empty dict (shown as "—") if it is not installed."""
    try:
        from reports.selectors import kept_worth_it_scores
    except ImportError:
        return {}
    return kept_worth_it_scores(customer_ids, today=today, customers=customers)


# --- Customer page ----------------------------------------------------------------------------


@requires(Capability.BROWSE_PAGES)
def customer_list(request):
    filterset = filterset_class("customers.filters", "CustomerFilter", Customer, ["segment", "collector"])(
        request.GET or None, queryset=visible_customers(request.user).select_related("segment", "collector")
    )
    page = Paginator(filterset.qs.order_by("name", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render_list(request, "calls/customer_list.html", filterset, page)


@requires(Capability.BROWSE_PAGES)
def customer_detail(request, pk: int):
    customer = customer_for(request, pk)
    today = today_for(request)
    context = customer_context(request, customer, today=today)
    context["form"] = log_call_form(customer, context["invoices"]) if context["can_write"] else None
    context["changes"] = None
    if may(request.user, Capability.READ_AUDIT_TRAIL):
        latest = list(customer_history(customer_id=customer.pk)[: RECENT_CHANGES + 1])
        context["changes"] = rows_of(latest[:RECENT_CHANGES])
        context["more_changes"] = len(latest) > RECENT_CHANGES
    return render(request, "calls/customer_detail.html", context)


RECENT_CHANGES = 10


@requires(Capability.READ_AUDIT_TRAIL)
def customer_changes(request, pk: int):
    """Every recorded change about the customer, newest first, a page at a time."""
    customer = customer_for(request, pk)
    page = Paginator(customer_history(customer_id=customer.pk), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"customer": customer, "page": page, "changes": rows_of(page.object_list), "query": ""}
    return render(request, "calls/customer_changes.html", context)


def customer_context(request, customer: Customer, *, today: date) -> dict:
    from . import portal_views  # it builds on this module

    invoices = selectors.open_invoices_of(customer, today=today)
    return {
        "customer": customer,
        "today": today,
        "invoices": invoices,
        "positions": selectors.position_of(customer, today=today),
        "contacts": list(selectors.contacts_of(customer)),
        "worth_it": worth_it_for([customer.pk], today=today).get(customer.pk),
        "timeline": customer_timeline(customer),
        **latest_agreements(customer),
        "excuse_flags": selectors.repeated_excuses(customer, today=today),
        "can_write": can_write(request.user),
        "aging_buckets": selectors.AGING_BUCKETS,
        "portal": portal_views.portal_answers(customer, request.user),
    }


AGREEMENTS_SHOWN = 10


def latest_agreements(customer: Customer) -> dict:
    """The side panel's latest agreements; the rest are in the timeline and the agreement list (a
    long-standing customer has dozens, each with its instalments and invoices)."""
    agreements = selectors.agreement_history(customer, limit=AGREEMENTS_SHOWN + 1)
    return {
        "agreements": agreements[:AGREEMENTS_SHOWN],
        "more_agreements": len(agreements) > AGREEMENTS_SHOWN,
    }


def log_call_form(customer: Customer, invoices, data=None) -> LogCallForm:
    return LogCallForm(data, customer=customer, open_invoices=invoices)


def customer_timeline(customer: Customer, before=None) -> customer_page.TimelinePage:
    """The calls app's timeline plus the reminders the dunning app sent (read here, in the
    presentation layer, because calls sits below dunning), a page at a time."""
    return customer_page.timeline_page(customer, before=before, more_sources=[REMINDERS])


REMINDER_FIELDS = (
    "customer",
    "run_on",
    "channel",
    "tone",
    "subject",
    "status",
    "sent_at",
    "letter_pdf",
    "created_at",
)


def reminder_rows(customer: Customer):
    from dunning.models import Reminder

    return Reminder.objects.filter(customer=customer).only(*REMINDER_FIELDS).prefetch_related("invoices")


def reminder_entry(reminder, key) -> customer_page.TimelineEntry:
    numbers = ", ".join(invoice.number for invoice in reminder.invoices.all())
    title = f"Reminder ({reminder.get_channel_display()}, {reminder.get_tone_display().lower()})"
    details = [reminder.subject] if reminder.subject else []
    if numbers:
        details.append(f"Invoices {numbers}")
    details.append(f"Delivery: {reminder.get_status_display().lower()}")
    return customer_page.TimelineEntry(
        key, "reminder", title, details, moment=reminder.sent_at, link=letter_url(reminder)
    )


# Ordered within its day by when the run made it (never empty, unlike sent_at, so the database's
# order and the page's key agree).
REMINDERS = customer_page.Source("reminder", reminder_rows, reminder_entry, day="run_on", moment="created_at")


@requires(Capability.BROWSE_PAGES)
def customer_timeline_older(request, pk: int):
    """The next page of the timeline, older than the `before` cursor: the entries and a new
    "Older" button for htmx to swap in place of the old one, or a page of its own without htmx."""
    customer = customer_for(request, pk)
    before = customer_page.Cursor.decode(request.GET.get("before"))
    context = {"customer": customer, "timeline": customer_timeline(customer, before=before)}
    if request.headers.get("HX-Request"):
        return render(request, "calls/_timeline_entries.html", context)
    return render(request, "calls/customer_timeline.html", context)


def letter_url(reminder) -> str:
    if not reminder.letter_pdf:
        return ""
    try:
        return reverse("dunning:letter-pdf", args=[reminder.pk])
    except NoReverseMatch:
        return ""


@require_POST
@requires(Capability.BROWSE_PAGES, Capability.LOG_CALLS)
def customer_log_call(request, pk: int):
    """Save the call through calls.services.log_call. With htmx, answer with a fresh form and the
    updated timeline, invoices and agreements (swapped in place); otherwise redirect."""
    customer = customer_for(request, pk)
    today = today_for(request)
    invoices = selectors.open_invoices_of(customer, today=today)
    form = log_call_form(customer, invoices, request.POST)
    saved = False
    if form.is_valid():
        try:
            log_call(customer=customer, user=request.user, call=form.call_log(), today=today)
            saved = True
        except ValidationError as error:
            form.add_service_errors(error)
    if not request.headers.get("HX-Request"):
        if saved:
            messages.success(request, "Call logged.")
            return redirect("calls:customer-detail", pk=customer.pk)
        context = customer_context(request, customer, today=today)
        context["form"] = form
        return render(request, "calls/customer_detail.html", context, status=400)
    context = customer_context(request, customer, today=today)
    context["form"] = log_call_form(customer, context["invoices"]) if saved else form
    context["saved"] = saved
    return render(request, "calls/_log_call_response.html", context)


@requires(Capability.BROWSE_PAGES)
def statement_pdf(request, pk: int):
    """The customer's statement of account: open invoices, aging and recent payments, as PDF."""
    customer = customer_for(request, pk)
    today = today_for(request)
    pdf = statement.statement_pdf(
        customer, today=today, base_url=request.build_absolute_uri("/"), request=request
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"statement-{customer.account_number}-{today:%Y-%m-%d}.pdf"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- Contacts, edited in place ----------------------------------------------------------------


@requires(Capability.BROWSE_PAGES)
def contact_row(request, pk: int, contact_pk: int):
    customer = customer_for(request, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, customer=customer)
    return render(
        request,
        "calls/_contact_row.html",
        {"customer": customer, "contact": contact, "can_write": can_write(request.user)},
    )


@requires(Capability.BROWSE_PAGES, Capability.EDIT_CONTACTS)
def contact_edit(request, pk: int, contact_pk: int | None = None):
    """GET: the row as a form. POST: save through customers.services.save_contact, answer the row."""
    customer = customer_for(request, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, customer=customer) if contact_pk else None
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in ContactForm.Meta.fields}
        try:
            contact = save_contact(
                customer=customer,
                contact=contact,
                verified=form.cleaned_data["confirmed"],
                actor=request.user,
                **values,
            )
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            if not request.headers.get("HX-Request"):
                return redirect("calls:customer-detail", pk=customer.pk)
            response = render(
                request,
                "calls/_contacts.html",
                {
                    "customer": customer,
                    "contacts": list(selectors.contacts_of(customer)),
                    "can_write": True,
                },
            )
            return response
    response = render(
        request, "calls/_contact_form.html", {"customer": customer, "contact": contact, "form": form}
    )
    if request.method == "POST":  # errors: swap the form row itself, not the whole list
        response["HX-Retarget"] = f"#contact-{contact.pk if contact else 'new'}"
        response["HX-Reswap"] = "outerHTML"
    return response


# --- Lists ------------------------------------------------------------------------------------


def filterset_class(module: str, name: str, model, fields: list[str]):
    """The shared FilterSet from the app's filters.py; a plain one on `fields` if it is not there yet."""
    try:
        return getattr(import_module(module), name)
    except (ImportError, AttributeError):
        return django_filters.filterset.filterset_factory(model, fields=fields)


def make_filterset(cls, request, queryset, today):
    """Dated FilterSets (overdue depends on the day) take `today=`; the others do not."""
    try:
        return cls(request.GET or None, queryset=queryset, today=today)
    except TypeError:
        return cls(request.GET or None, queryset=queryset)


def render_list(request, template, filterset, page, **extra):
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": filterset, "page": page, "query": query.urlencode(), **extra}
    return render(request, template, context)


@requires(Capability.BROWSE_PAGES)
def invoice_list(request):
    today = today_for(request)
    queryset = scope_to_portfolio(Invoice.objects.select_related("customer"), request.user)
    cls = filterset_class("invoices.filters", "InvoiceFilter", Invoice, ["status", "currency"])
    filterset = make_filterset(cls, request, queryset, today)
    invoices = filterset.qs.annotate(open_amount=F("amount") - F("allocated_amount")).order_by(
        "due_date", "number"
    )
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    for invoice in page.object_list:
        invoice.days_overdue = max((today - invoice.due_date).days, 0) if invoice.open_amount > 0 else 0
    return render_list(request, "calls/invoice_list.html", filterset, page, today=today)


@requires(Capability.BROWSE_PAGES)
def agreement_list(request):
    today = today_for(request)
    queryset = scope_to_portfolio(
        Agreement.objects.select_related("customer", "made_by").prefetch_related("instalments"), request.user
    )
    cls = filterset_class("agreements.filters", "AgreementFilter", Agreement, ["state", "kind"])
    filterset = make_filterset(cls, request, queryset, today)
    page = Paginator(filterset.qs.order_by("-made_on", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render_list(request, "calls/agreement_list.html", filterset, page)


@requires(Capability.BROWSE_PAGES)
def complaint_list(request):
    today = today_for(request)
    queryset = scope_to_portfolio(
        Complaint.objects.select_related("customer", "resolved_by").prefetch_related(
            Prefetch("invoices", queryset=Invoice.objects.order_by("number"))
        ),
        request.user,
    )
    cls = filterset_class("calls.filters", "ComplaintFilter", Complaint, ["category", "outcome"])
    filterset = make_filterset(cls, request, queryset, today)
    page = Paginator(
        filterset.qs.order_by(F("resolved_on").desc(nulls_first=True), "-opened_on", "-pk"), PAGE_SIZE
    )
    page = page.get_page(request.GET.get("page"))
    can_resolve = may(request.user, Capability.RESOLVE_COMPLAINTS)
    return render_list(
        request,
        "calls/complaint_list.html",
        filterset,
        page,
        can_resolve=can_resolve,
        resolve_form=ResolveComplaintForm(),
    )


@require_POST
@requires(Capability.RESOLVE_COMPLAINTS)
def complaint_resolve(request, pk: int):
    complaint = get_object_or_404(Complaint, pk=pk)
    form = ResolveComplaintForm(request.POST)
    if form.is_valid():
        try:
            resolve_complaint(
                complaint=complaint,
                outcome=form.cleaned_data["outcome"],
                user=request.user,
                today=today_for(request),
                cancel_invoices=form.cleaned_data["cancel_invoices"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"Complaint of {complaint.customer.name} {complaint.get_outcome_display().lower()}."
            )
    else:
        messages.error(request, "Choose upheld or rejected.")
    return redirect_to_next(request, "calls:complaint-list")


@requires(Capability.BROWSE_PAGES)
def reminder_list(request):
    from dunning.models import Reminder

    today = today_for(request)
    queryset = scope_to_portfolio(
        Reminder.objects.select_related("customer", "step").prefetch_related("invoices"), request.user
    )
    cls = filterset_class("dunning.filters", "ReminderFilter", Reminder, ["status", "channel", "run_on"])
    filterset = make_filterset(cls, request, queryset, today)
    page = Paginator(filterset.qs.order_by("-run_on", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    for reminder in page.object_list:
        reminder.letter_link = letter_url(reminder)
    return render_list(request, "calls/reminder_list.html", filterset, page)
