"""Staff pages for what customers send through the portal: its box on the customer page, decisions on
proposed plans and contact changes, revoking a customer's links, and the attachments of disputes.

Kept apart from views.py (the worklist and customer page) so each file stays one subject. Every view
asks customers.access through `requires` and looks records up inside the user's portfolio.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, Subquery
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from customers.access import Capability, may, scope_to_portfolio
from customers.models import ContactChange, ContactChangeState, Customer, PortalLink
from customers.pages import requires, today_for
from customers.selectors import visible_customers
from customers.services import decide_contact_change, revoke_portal_links

from .choices import PlanProposalState
from .models import ComplaintAttachment, PlanProposal
from .services import decide_plan_proposal


def portal_answers(customer: Customer, user) -> dict:
    """The customer page's portal box: pending plans and contact changes, dispute files, live links.

    Most customers have none of the three lists: one query asks which there are (and counts the
    live links), and only those are read."""
    from django.utils import timezone

    pending_plans = PlanProposal.objects.filter(customer=customer, state=PlanProposalState.PENDING)
    pending_changes = ContactChange.objects.filter(customer=customer, state=ContactChangeState.PENDING)
    attachments = ComplaintAttachment.objects.filter(complaint__customer=customer)
    live_links = PortalLink.objects.filter(
        customer=customer, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    found = (
        Customer.objects.filter(pk=customer.pk)
        .values(
            plans=Exists(pending_plans),
            changes=Exists(pending_changes),
            attachments=Exists(attachments),
            live_links=Subquery(
                live_links.order_by().values("customer").annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ),
        )
        .get()
    )
    return {
        "can_decide": may(user, Capability.DECIDE_CREDIT_CONTROL),
        "can_confirm": may(user, Capability.EDIT_CONTACTS),
        "plan_proposals": list(pending_plans.prefetch_related("invoices")) if found["plans"] else [],
        "contact_changes": list(pending_changes) if found["changes"] else [],
        "attachments": (
            list(attachments.select_related("complaint").order_by("-uploaded_at")[:10])
            if found["attachments"]
            else []
        ),
        "live_links": found["live_links"] or 0,
    }


def _back(customer_pk: int):
    return redirect("calls:customer-detail", pk=customer_pk)


@require_POST
@requires(Capability.DECIDE_CREDIT_CONTROL)
def revoke_links(request, pk: int):
    customer = get_object_or_404(visible_customers(user=request.user), pk=pk)
    count = revoke_portal_links(customer=customer, actor=request.user)
    messages.success(request, f"{count} portal link(s) of {customer.name} revoked.")
    return _back(customer.pk)


@require_POST
@requires(Capability.DECIDE_CREDIT_CONTROL)
def plan_proposal_decide(request, pk: int):
    proposal = get_object_or_404(scope_to_portfolio(PlanProposal.objects.all(), request.user), pk=pk)
    accept = request.POST.get("decision") == "accept"
    try:
        decide_plan_proposal(
            proposal=proposal, accept=accept, user=request.user, today=today_for(request),
            reason=request.POST.get("reason", ""),
        )  # fmt: skip
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Plan accepted: it is now an agreement." if accept else "Plan declined.")
    return _back(proposal.customer_id)


@require_POST
@requires(Capability.EDIT_CONTACTS)
def contact_change_decide(request, pk: int):
    change = get_object_or_404(scope_to_portfolio(ContactChange.objects.all(), request.user), pk=pk)
    confirm = request.POST.get("decision") == "confirm"
    try:
        decide_contact_change(change=change, confirm=confirm, actor=request.user, today=today_for(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Contact confirmed." if confirm else "Contact change rejected.")
    return _back(change.customer_id)


@requires(Capability.BROWSE_PAGES, Capability.READ_CONVERSATIONS)  # a customer's own words and files
def complaint_attachment(request, pk: int):
    """A dispute's file, to staff who may see the customer; sent as a download, never rendered inline."""
    attachment = get_object_or_404(
        scope_to_portfolio(
            ComplaintAttachment.objects.all(), request.user, customer_path="complaint__customer"
        ),
        pk=pk,
    )
    return FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name,
        content_type=attachment.content_type,
    )  # fmt: skip
