"""Browser pages of the dunning app: letter PDFs, reminders and their delivery, proposals to decide."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from customers.access import Capability, require, scope_to_portfolio
from customers.redirects import redirect_to_next

from . import selectors, services
from .choices import DeliveryStatus
from .delivery import DeliveryFailed, deliver, letter_for_download
from .models import Proposal, Reminder


@login_required
def letter_pdf(request, pk: int):
    """The reminder as a PDF letter (the stored one; rendered now if it has none yet)."""
    require(request.user, Capability.BROWSE_PAGES)
    reminders = scope_to_portfolio(Reminder.objects.select_related("customer", "step"), request.user)
    reminder = letter_for_download(get_object_or_404(reminders, pk=pk))
    filename = f"reminder-{reminder.pk}-{reminder.customer.account_number}.pdf"
    return FileResponse(reminder.letter_pdf.open("rb"), content_type="application/pdf", filename=filename)


@login_required
def reminder_list(request):
    """Reminders newest first, by delivery state (e.g. failed, to act on) and customer (?customer=<pk>)."""
    require(request.user, Capability.BROWSE_PAGES)
    status = request.GET.get("status") or None
    if status not in DeliveryStatus.values:
        status = None
    customer_id = request.GET.get("customer", "")
    customer_id = int(customer_id) if customer_id.isdigit() else None
    reminders = selectors.reminders_for_page(request.user, status, customer_id)
    page = Paginator(reminders, 50).get_page(request.GET.get("page"))
    query = "&".join(
        f"{name}={value}" for name, value in (("customer", customer_id), ("status", status)) if value
    )
    context = {
        "page": page,
        "status": status,
        "statuses": DeliveryStatus.choices,
        "customer_id": customer_id,
        "query": query,
    }
    return render(request, "dunning/reminder_list.html", context)


@login_required
@require_POST
def reminder_retry(request, pk: int):
    """Deliver a failed reminder again, now, in this request (credit managers)."""
    require(request.user, Capability.MANAGE_SETTINGS)
    reminder = get_object_or_404(Reminder, pk=pk)
    if Reminder.objects.filter(pk=pk, status=DeliveryStatus.FAILED).update(status=DeliveryStatus.PENDING):
        try:
            deliver(reminder.pk, final_attempt=True)
            messages.success(request, f"Reminder R{pk} to {reminder.customer.name} was delivered.")
        except DeliveryFailed as error:
            messages.error(request, f"Reminder R{pk} failed again: {error}")
    else:
        messages.error(request, f"Reminder R{pk} is not failed; nothing to retry.")
    return redirect(f"{reverse('dunning:reminder-list')}?status=failed")


PROPOSALS_PER_PAGE = 25


@login_required
def proposal_list(request):
    """Open prepayment-only and credit-hold proposals, the most pressing first, a page at a time
    (a count and a page: two queries whatever the queue's length), with the latest decisions below."""
    require(request.user, Capability.DECIDE_CREDIT_CONTROL)
    page = Paginator(selectors.open_proposals(request.user), PROPOSALS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    today = timezone.localdate()
    for proposal in page.object_list:
        proposal.days_overdue = (today - proposal.oldest_due_date).days if proposal.oldest_due_date else 0
    return render(
        request,
        "dunning/proposal_list.html",
        {
            "page": page,
            "proposals": page.object_list,
            "query": "",
            "decided": selectors.decided_proposals(request.user),
        },
    )


@login_required
@require_POST
def proposal_decide(request, pk: int):
    require(request.user, Capability.DECIDE_CREDIT_CONTROL)
    proposal = get_object_or_404(Proposal.objects.select_related("customer"), pk=pk)
    decision = request.POST.get("decision")
    if decision not in ("confirm", "dismiss"):
        messages.error(request, "Choose confirm or dismiss.")
        return redirect_to_next(request, "dunning:proposal-list")
    try:
        services.decide_proposal(
            proposal=proposal, confirm=decision == "confirm", user=request.user, today=timezone.localdate()
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect_to_next(request, "dunning:proposal-list")
    verb = "confirmed" if decision == "confirm" else "dismissed"
    messages.success(request, f"{proposal.get_kind_display()} for {proposal.customer.name} {verb}.")
    return redirect_to_next(request, "dunning:proposal-list")  # back to the page of the queue they were on
