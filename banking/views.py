"""The banking pages: the statement upload (credit managers) and the cash queue (credit managers, and
collectors for the lines whose likeliest payer is in their portfolio). Writes go through the services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from customers.access import Capability, may
from customers.pages import requires

from . import selectors, services
from .forms import ManualMatchForm, StatementUploadForm
from .models import BankTransaction

PAGE_SIZE = 25


@requires(Capability.SYNC_LEDGER, Capability.BROWSE_PAGES)
def upload(request):
    form = StatementUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        try:
            result = services.import_statement_file(
                content=file.read(), file_name=file.name, actor=request.user
            )
        except ValidationError as error:
            form.add_error("file", error.message_dict.get("file", error.messages))
        else:
            messages.success(request, f"{file.name}: {result.summary()}")
            return redirect("banking:queue")
    return render(request, "banking/upload.html", {"form": form})


@requires(Capability.APPLY_CASH)
def queue(request):
    page = Paginator(selectors.waiting_transactions(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    can_upload = may(request.user, Capability.SYNC_LEDGER)
    return render(request, "banking/queue.html", {"page": page, "can_upload": can_upload})


@require_POST
@requires(Capability.APPLY_CASH)
def confirm(request, pk: int):
    try:
        index = int(request.POST.get("suggestion", ""))
    except ValueError:
        index = -1
    return _apply(
        request, lambda: services.confirm_suggestion(transaction_id=pk, index=index, actor=request.user)
    )


@require_POST
@requires(Capability.APPLY_CASH)
def match_by_hand(request, pk: int):
    if not selectors.waiting_transactions(user=request.user).filter(pk=pk).exists():
        raise Http404("No such line waits in your queue.")
    form = ManualMatchForm(request.POST)
    if not form.is_valid():
        for error in form.errors.values():
            messages.error(request, " ".join(error))
        return redirect(f"{_queue_url(request)}#line-{pk}")
    return _apply(
        request, lambda: services.confirm_by_hand(transaction_id=pk, parts=form.parts(), actor=request.user)
    )


def _apply(request, action):
    try:
        row = action()
    except BankTransaction.DoesNotExist as missing:
        raise Http404(str(missing)) from missing
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_queue_url(request))
    messages.success(
        request,
        f"Applied {row.amount} {row.currency} from {row.counterparty_name or 'the payer'}: {row.reason}",
    )
    return redirect(_queue_url(request))


def _queue_url(request) -> str:
    page = request.POST.get("page")
    return reverse("banking:queue") + (f"?page={int(page)}" if page and page.isdigit() else "")
