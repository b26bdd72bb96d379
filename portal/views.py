"""The customer's pages behind `/p/<token>/`: no account, no password; the link is the key.

Each view resolves the token to exactly one customer (`_open`) and reads and writes only through it:
invoices are looked up inside that customer's, forms offer that customer's invoices only. A link
that is expired or revoked gets a polite page with the collector's contact details (410), an unknown
one the same page without them (404): never an error page, and never a hint whose link it was.
"""

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from agreements.services import InstalmentTerms
from calls.statement import statement_pdf
from customers.selectors import link_is_live, portal_link
from invoices.models import Invoice

from . import selectors, services
from .forms import FORMS
from .throttle import throttled

DONE_MESSAGES = {
    "dispute": "Thank you: your dispute is recorded and reminders for those invoices are paused.",
    "promise": "Thank you: your promise is recorded. We send no reminders for those invoices meanwhile.",
    "plan": "Thank you: your proposed plan is with our credit manager; the answer will show on this page.",
    "paid": "Thank you: we are looking for your payment and have paused reminders for those invoices.",
    "contact": "Thank you: your new contact will be confirmed by your collector.",
}


class ClosedLink(Exception):
    def __init__(self, link=None):
        self.link = link


def today() -> date:
    return getattr(settings, "CREDITDESK_TODAY", None) or timezone.localdate()


def _open(token: str):
    link = portal_link(token)
    if link is None or not link_is_live(link):
        raise ClosedLink(link)
    return link


def _closed(request, error: ClosedLink):
    link = error.link
    status = 404 if link is None else 410
    context = {
        "collector": link.customer.collector if link else None,
        "sender": settings.DUNNING_SENDER,
        "credit_email": settings.DEFAULT_FROM_EMAIL,
    }
    return render(request, "portal/closed.html", context, status=status)


def portal_view(view):
    """Throttle, then open the link (or show the polite page)."""

    @throttled
    def wrapper(request, token: str, *args, **kwargs):
        try:
            link = _open(token)
        except ClosedLink as error:
            return _closed(request, error)
        return view(request, link, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _forms(link, data=None, files=None, bound: str | None = None) -> dict:
    invoices = selectors.answerable_invoices(link.customer)
    return {
        name: form_class(
            data if name == bound else None, files if name == bound else None, invoices=invoices, prefix=name
        )  # fmt: skip
        for name, form_class in FORMS.items()
    }


def _page(request, link, forms, *, status=200, opened: str | None = None):
    context = selectors.page_context(link.customer, today=today())
    context.update(
        token=request.resolver_match.kwargs["token"], forms=forms, opened=opened,
        done=DONE_MESSAGES.get(request.GET.get("done", "")), promise_days=settings.PORTAL_PROMISE_MAX_DAYS,
        sender=settings.DUNNING_SENDER,
    )  # fmt: skip
    return render(request, "portal/home.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
@portal_view
def home(request, link):
    """The customer's open invoices, amounts per currency, and the five answers."""
    return _page(request, link, _forms(link))


@require_http_methods(["GET", "HEAD"])
@portal_view
def invoice(request, link, pk: int):
    found = get_object_or_404(Invoice, customer=link.customer, pk=pk)  # another customer's: 404
    states = {i.pk: i for i in selectors.invoices_with_state(link.customer, today=today())}
    context = {"invoice": found, "open": states.get(found.pk), "customer": link.customer,
               "token": request.resolver_match.kwargs["token"]}  # fmt: skip
    return render(request, "portal/invoice.html", context)


@require_http_methods(["GET", "HEAD"])
@portal_view
def statement(request, link):
    pdf = statement_pdf(link.customer, today=today(), base_url=request.build_absolute_uri("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="statement-{link.customer.account_number}.pdf"'
    return response


@require_POST
@portal_view
def answer(request, link, action: str):
    """One of the five forms. Invalid: the page again with the form open and its errors, nothing written."""
    if action not in FORMS:
        raise Http404
    forms = _forms(link, request.POST, request.FILES, bound=action)
    form = forms[action]
    if form.is_valid():
        try:
            ACTIONS[action](link, form.cleaned_data)
        except ValidationError as error:
            _put_errors(form, error)
        else:
            home_url = reverse("portal:home", kwargs={"token": request.resolver_match.kwargs["token"]})
            return redirect(f"{home_url}?done={action}")
    return _page(request, link, forms, status=400, opened=action)


def _put_errors(form, error: ValidationError) -> None:
    """A service's per-field messages onto the form's fields (instalments[i].x onto row i + 1)."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for field, messages in error.message_dict.items():
        name = field if field in form.fields else None
        if field.startswith("instalments[") and "." in field:
            index, part = int(field[12 : field.index("]")]), field.rsplit(".", 1)[1]
            name = f"{'date' if part == 'due_date' else 'amount'}_{index + 1}"
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


def _dispute(link, data):
    upload = data.get("attachment")
    return services.dispute(
        link=link, submission=data["submission"], invoices=list(data["invoices"]), category=data["category"],
        description=data["description"], today=today(),
        upload=services.Upload(upload.name, upload.read(), upload.detected_type) if upload else None,
    )  # fmt: skip


def _plan(link, data):
    rows = [(data.get(f"date_{n}"), data.get(f"amount_{n}")) for n in range(1, 7)]
    terms = [InstalmentTerms(due_date=d, amount=a) for d, a in rows if d and a]
    return services.propose_payment_plan(
        link=link,
        submission=data["submission"],
        invoices=list(data["invoices"]),
        instalments=terms,
        today=today(),
    )


ACTIONS = {
    "dispute": _dispute,
    "promise": lambda link, data: services.promise(
        link=link,
        submission=data["submission"],
        invoices=list(data["invoices"]),
        pay_on=data["pay_on"],
        today=today(),
    ),
    "plan": _plan,
    "paid": lambda link, data: services.already_paid(
        link=link,
        submission=data["submission"],
        invoices=list(data["invoices"]),
        paid_on=data["paid_on"],
        amount=data["amount"],
        reference=data["reference"],
        today=today(),
    ),  # fmt: skip
    "contact": lambda link, data: services.update_contact(
        link=link,
        submission=data["submission"],
        today=today(),
        **{k: data[k] for k in ("name", "role", "email", "phone")},
    ),
}
