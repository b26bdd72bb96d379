"""Browser pages of the dunning app: letter PDFs, reminders and their delivery, proposals to decide."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from customers.access import Capability, scope_to_portfolio
from customers.pages import PortfolioListView, requires
from customers.redirects import redirect_to_next

from . import selectors, services
from .choices import DeliveryStatus
from .delivery import DeliveryFailed, letter_for_download
from .filters import ReminderFilterSet
from .models import Proposal, Reminder


@requires(Capability.BROWSE_PAGES)
def letter_pdf(request, pk: int):
    """The reminder as a PDF letter (the stored one; rendered now if it has none yet)."""
    reminders = scope_to_portfolio(Reminder.objects.select_related("customer", "step"), request.user)
    reminder = letter_for_download(get_object_or_404(reminders, pk=pk))
    filename = f"reminder-{reminder.pk}-{reminder.customer.account_number}.pdf"
    return FileResponse(reminder.letter_pdf.open("rb"), content_type="application/pdf", filename=filename)


class ReminderListView(PortfolioListView):
    """Reminders newest first, filtered by delivery state (e.g. failed, to act on), customer
    (?customer=<pk>), channel, day and the rest of ReminderFilterSet. The one reminder list: the old
    /reminders/ redirects here."""

    queryset = Reminder.objects.select_related("customer", "step__policy").annotate(
        invoice_count=Count("lines")
    )
    filterset_class = ReminderFilterSet
    ordering = ("-run_on", "-id")
    template_name = "dunning/reminder_list.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status")
        customer_id = self.request.GET.get("customer", "")
        context.update(
            status=status if status in DeliveryStatus.values else None,
            statuses=DeliveryStatus.choices,
            customer_id=int(customer_id) if customer_id.isdigit() else None,
        )
        return context


@require_POST
@requires(Capability.MANAGE_SETTINGS)
def reminder_retry(request, pk: int):
    """Deliver a failed reminder again, now, in this request (credit managers)."""
    reminder = get_object_or_404(Reminder.objects.select_related("customer"), pk=pk)
    try:
        retried = services.retry_failed_reminder(reminder=reminder, actor=request.user)
    except DeliveryFailed as error:
        messages.error(request, f"Reminder R{pk} failed again: {error}")
    else:
        if retried:
            messages.success(request, f"Reminder R{pk} to {reminder.customer.name} was delivered.")
        else:
            messages.error(request, f"Reminder R{pk} is not failed; nothing to retry.")
    return redirect(f"{reverse('dunning:reminder-list')}?status=failed")


@requires(Capability.DECIDE_CREDIT_CONTROL)
def proposal_list(request):
    """Open prepayment-only and credit-hold proposals, the most pressing first, a page at a time
    (a count and a page: two queries whatever the queue's length), with the latest decisions below."""
    page = Paginator(selectors.open_proposals(user=request.user), settings.CREDITDESK_PAGE_SIZE).get_page(
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
            "decided": selectors.decided_proposals(user=request.user),
        },
    )


@require_POST
@requires(Capability.DECIDE_CREDIT_CONTROL)
def proposal_decide(request, pk: int):
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
