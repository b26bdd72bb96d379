"""The browser UI collectors and credit managers work in: worklist, customer page, lists.

Views are the presentation layer: they read selectors of any app (dunning reminders, reports'
worth-it) and write only through services. Who may open what is decided by the capability table
in customers.access (README: "Who may do what"); in short:
- credit manager: everything, assigns customers and resolves complaints;
- collector: their portfolio only (other customers are a 404), logs calls and edits contacts;
- finance lead: every page read-only; integrator: no UI pages (home and API token only).
"""

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST
from django.views.generic import RedirectView

from audit.selectors import customer_history, rows_of
from customers.access import Capability, may
from customers.filters import CustomerFilterSet
from customers.models import Contact, Customer
from customers.pages import PortfolioListView, requires, today_for
from customers.redirects import redirect_to_next
from customers.selectors import visible_customers
from customers.services import assign_collector, save_contact
from invoices.models import Invoice

from . import customer_page, selectors, statement
from .filters import ComplaintFilterSet
from .forms import AssignForm, ContactForm, LogCallForm, ResolveComplaintForm, WorklistFilterForm
from .models import Complaint
from .services import log_call, resolve_complaint


def _can_write(user) -> bool:
    return may(user, Capability.LOG_CALLS)


def _customer_for(request, pk: int) -> Customer:
    """The customer, if the user may see it: a collector gets 404 outside their portfolio."""
    customers = visible_customers(user=request.user).select_related("segment", "collector")
    return get_object_or_404(customers, pk=pk)


# --- Worklist ---------------------------------------------------------------------------------


@requires(Capability.LOG_CALLS)
def worklist(request):
    today = today_for(request)
    is_manager = may(request.user, Capability.DECIDE_CREDIT_CONTROL)
    choices = selectors.worklist_choices(with_collectors=is_manager)
    form = WorklistFilterForm(request.GET or None, choices=choices, can_see_all=is_manager)
    criteria = form.cleaned_data if form.is_valid() else {}
    page = selectors.worklist_page(
        user=request.user,
        criteria=criteria,
        today=today,
        number=request.GET.get("page"),
        per_page=settings.CREDITDESK_PAGE_SIZE,
    )
    customers = list(page.object_list)
    rows = selectors.with_worth_it(
        selectors.worklist_rows(customers, today=today),
        scores=_worth_it_for(customers=customers, today=today),
    )
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
            "assignees": choices.assignees,
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


def _worth_it_for(customer_ids: list[int] = (), *, today: date, customers=()) -> dict:
    """Worth-it scores with their components, from the reports app's kept rows (which the worklist
    sorts and filters by through `customer.worth_it`; `customers` may come with them joined).

    Still a lazy import of a higher app: the components are weighted by the reports' settings, which
    the kept row alone does not carry (docs/architecture.md, "What stays for later")."""
    from reports.selectors import kept_worth_it_scores

    return kept_worth_it_scores(customer_ids, today=today, customers=customers)


# --- Customer page ----------------------------------------------------------------------------


class CustomerListView(PortfolioListView):
    queryset = Customer.objects.select_related("segment", "collector")
    customer_path = ""
    filterset_class = CustomerFilterSet
    ordering = ("name", "pk")
    template_name = "calls/customer_list.html"


@requires(Capability.BROWSE_PAGES)
def customer_detail(request, pk: int):
    customer = _customer_for(request, pk)
    today = today_for(request)
    context = _customer_context(request, customer, today=today)
    context["form"] = _log_call_form(customer, context) if context["can_write"] else None
    context["changes"] = None
    if may(request.user, Capability.READ_AUDIT_TRAIL):
        latest = list(customer_history(customer_id=customer.pk)[: _RECENT_CHANGES + 1])
        context["changes"] = rows_of(latest[:_RECENT_CHANGES])
        context["more_changes"] = len(latest) > _RECENT_CHANGES
    return render(request, "calls/customer_detail.html", context)


_RECENT_CHANGES = 10


@requires(Capability.READ_AUDIT_TRAIL)
def customer_changes(request, pk: int):
    """Every recorded change about the customer, newest first, a page at a time."""
    customer = _customer_for(request, pk)
    history = Paginator(customer_history(customer_id=customer.pk), settings.CREDITDESK_PAGE_SIZE)
    page = history.get_page(request.GET.get("page"))
    context = {"customer": customer, "page": page, "changes": rows_of(page.object_list), "query": ""}
    return render(request, "calls/customer_changes.html", context)


def _customer_context(request, customer: Customer, *, today: date) -> dict:
    from . import portal_views  # it builds on this module

    invoices, positions = selectors.open_position_of(customer, today=today)
    return {
        "customer": customer,
        "today": today,
        "invoices": selectors.with_table_texts(invoices),
        "positions": positions,
        "contacts": list(selectors.contacts_of(customer)),
        "worth_it": _worth_it_for([customer.pk], today=today).get(customer.pk),
        "timeline": _customer_timeline(customer),
        **_latest_agreements(customer),
        "excuse_flags": selectors.repeated_excuses(customer, today=today),
        "early_warning": selectors.early_warning_reasons(customer),
        "can_write": _can_write(request.user),
        "aging_buckets": selectors.AGING_BUCKETS,
        "portal": portal_views.portal_answers(customer, request.user),
    }


_AGREEMENTS_SHOWN = 10


def _latest_agreements(customer: Customer) -> dict:
    """The side panel's latest agreements; the rest are in the timeline and the agreement list (a
    long-standing customer has dozens, each with its instalments and invoices)."""
    agreements = selectors.agreement_history(customer, limit=_AGREEMENTS_SHOWN + 1)
    return {
        "agreements": agreements[:_AGREEMENTS_SHOWN],
        "more_agreements": len(agreements) > _AGREEMENTS_SHOWN,
    }


def _log_call_form(customer: Customer, context: dict) -> LogCallForm:
    """A blank call form offering the open invoices and contacts the page's context has read."""
    return LogCallForm(customer=customer, open_invoices=context["invoices"], contacts=context["contacts"])


def _customer_timeline(customer: Customer, before=None) -> customer_page.TimelinePage:
    """The calls app's timeline plus the reminders the dunning app sent (read here, in the
    presentation layer, because calls sits below dunning), a page at a time."""
    return customer_page.timeline_page(customer, before=before, more_sources=[REMINDERS])


def _reminder_rows(customer: Customer):
    # dunning sits above calls: its selector is read here, in the presentation layer, and lazily.
    from dunning.selectors import reminders_for_timeline

    return reminders_for_timeline(customer=customer)


def _reminder_entry(reminder, key) -> customer_page.TimelineEntry:
    numbers = ", ".join(invoice.number for invoice in reminder.invoices.all())
    title = f"Reminder ({reminder.get_channel_display()}, {reminder.get_tone_display().lower()})"
    details = [reminder.subject] if reminder.subject else []
    if numbers:
        details.append(f"Invoices {numbers}")
    details.append(f"Delivery: {reminder.get_status_display().lower()}")
    return customer_page.TimelineEntry(
        key, "reminder", title, details, moment=reminder.sent_at, link=_letter_url(reminder)
    )


# Ordered within its day by when the run made it (never empty, unlike sent_at, so the database's
# order and the page's key agree).
REMINDERS = customer_page.Source(
    "reminder", _reminder_rows, _reminder_entry, day="run_on", moment="created_at"
)


@requires(Capability.BROWSE_PAGES)
def customer_timeline_older(request, pk: int):
    """The next page of the timeline, older than the `before` cursor: the entries and a new
    "Older" button for htmx to swap in place of the old one, or a page of its own without htmx."""
    customer = _customer_for(request, pk)
    before = customer_page.Cursor.decode(request.GET.get("before"))
    context = {"customer": customer, "timeline": _customer_timeline(customer, before=before)}
    if request.headers.get("HX-Request"):
        return render(request, "calls/_timeline_entries.html", context)
    return render(request, "calls/customer_timeline.html", context)


def _letter_url(reminder) -> str:
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
    customer = _customer_for(request, pk)
    today = today_for(request)
    invoices = selectors.open_invoices_of(customer, today=today)
    form = LogCallForm(request.POST, customer=customer, open_invoices=invoices)
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
        context = _customer_context(request, customer, today=today)
        context["form"] = form
        return render(request, "calls/customer_detail.html", context, status=400)
    context = _customer_context(request, customer, today=today)
    context["form"] = _log_call_form(customer, context) if saved else form
    context["saved"] = saved
    return render(request, "calls/_log_call_response.html", context)


@requires(Capability.BROWSE_PAGES)
def statement_pdf(request, pk: int):
    """The customer's statement of account: open invoices, aging and recent payments, as PDF."""
    customer = _customer_for(request, pk)
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
    customer = _customer_for(request, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, customer=customer)
    return render(
        request,
        "calls/_contact_row.html",
        {"customer": customer, "contact": contact, "can_write": _can_write(request.user)},
    )


@requires(Capability.BROWSE_PAGES, Capability.EDIT_CONTACTS)
def contact_edit(request, pk: int, contact_pk: int | None = None):
    """GET: the row as a form. POST: save through customers.services.save_contact, answer the row."""
    customer = _customer_for(request, pk)
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


class ComplaintListView(PortfolioListView):
    queryset = Complaint.objects.select_related("customer", "resolved_by").prefetch_related(
        Prefetch("invoices", queryset=Invoice.objects.order_by("number"))
    )
    filterset_class = ComplaintFilterSet
    ordering = (F("resolved_on").desc(nulls_first=True), "-opened_on", "-pk")
    template_name = "calls/complaint_list.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context.update(
            can_resolve=may(self.request.user, Capability.RESOLVE_COMPLAINTS),
            resolve_form=ResolveComplaintForm(),
        )
        return context


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


class ReminderListRedirect(RedirectView):
    """The old reminder list (/reminders/): the dunning app's list is the one that stays."""

    pattern_name = "dunning:reminder-list"
    query_string = True

    @classmethod
    def as_view(cls, **initkwargs):
        return requires(Capability.BROWSE_PAGES)(super().as_view(**initkwargs))
