"""The reports pages: the dashboard, the worth-it ranking (and its weights), CSV and PDF exports.

Finance leads and credit managers only; everyone else gets 403.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe

from customers.access import Capability, may

from . import exports, foresight, sections
from .dashboard import build_dashboard
from .forms import ReportFilterForm, WorthItSettingsForm
from .ledger import DEFAULT_PERIOD_MONTHS
from .models import SETTING_FIELDS, WorthItSettings
from .replica import reading_reports
from .scores import kept_ranking, scores_serving, worth_it_of
from .services import update_worth_it_settings
from .worth_it import EFFORT_COMPONENTS, value_points, worth_it_ranking

RANKING_PAGE_SIZE = 50


def finance_only(view):
    """Signed-in finance leads and credit managers; collectors and integrators are refused (403).

    A page that only reads (GET) reads from the replica when there is one (reports/replica.py); the
    sign-in and role checks above it, and a POST that changes something, read the primary."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not may(request.user, Capability.READ_REPORTS):
            raise PermissionDenied("Reports are for finance leads and credit managers.")
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        with reading_reports(user=request.user):
            return view(request, *args, **kwargs)

    return wrapper


def read_filters(request) -> tuple[ReportFilterForm, dict]:
    """The filter form and the selector keywords it gives (the whole ledger today when invalid)."""
    form = ReportFilterForm(request.GET or None)
    today = timezone.localdate()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        return form, {
            "as_of": data.get("as_of") or today,
            "period_months": data.get("period_months") or DEFAULT_PERIOD_MONTHS,
            **form.filters(),
        }
    return form, {"as_of": today, "period_months": DEFAULT_PERIOD_MONTHS}


@finance_only
def dashboard(request):
    """The headline figures and the filter form at once; every other section loads from its own URL."""
    form, filters = read_filters(request)
    return render(
        request,
        "reports/dashboard.html",
        {
            "form": form,
            "as_of": filters["as_of"],
            "period_months": filters["period_months"],
            "headline": mark_safe(sections.render_headline(filters)),  # noqa: S308  (our own template)
            "sections": [(name, title) for name, (title, _) in sections.SECTIONS.items()],
            "query": request.GET.urlencode(),
        },
    )


@finance_only
def section(request, name: str):
    """One section of the dashboard: the fragment for htmx, a page of its own without JavaScript."""
    if name not in sections.SECTIONS:
        raise Http404("No such section.")
    form, filters = read_filters(request)
    body = mark_safe(sections.render_section(name, filters))  # noqa: S308  (our own template)
    if request.headers.get("HX-Request"):
        response = HttpResponse(body)
        patch_vary_headers(response, ["HX-Request"])  # the same URL answers a whole page without htmx
        return response
    title = sections.SECTIONS[name][0]
    return render(
        request,
        "reports/section_page.html",
        {"form": form, "name": name, "title": title, "body": body, "as_of": filters["as_of"],
         "query": request.GET.urlencode()},
    )  # fmt: skip


@finance_only
def worth_it(request):
    form, filters = read_filters(request)
    settings = WorthItSettings.current()
    can_edit = may(request.user, Capability.MANAGE_SETTINGS)
    settings_form = WorthItSettingsForm(instance=settings)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only credit managers change the worth-it weights.")
        settings_form = WorthItSettingsForm(request.POST, instance=settings)
        if settings_form.is_valid():
            try:
                update_worth_it_settings(
                    actor=request.user, **{name: settings_form.cleaned_data[name] for name in SETTING_FIELDS}
                )
            except ValidationError as error:
                settings_form.add_error(None, error)
            else:
                messages.success(request, "Worth-it weights saved: the scores below use them.")
                return redirect(request.get_full_path())
    lowest_first = request.GET.get("order") == "lowest"
    page, kept_as_of = ranking_page(request, filters, settings, lowest_first=lowest_first)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reports/worth_it.html",
        {
            "form": form,
            "page": page,
            "as_of": filters["as_of"],
            "kept_as_of": kept_as_of,
            "lowest_first": lowest_first,
            "effort_headers": [
                (label, getattr(settings, f"{prefix}_weight"), getattr(settings, f"{prefix}_cap"))
                for _, label, prefix in EFFORT_COMPONENTS
            ],
            "value_points": value_points(settings),
            "settings_form": settings_form,
            "can_edit": can_edit,
            "query": query.urlencode(),
        },
    )


def ranking_page(request, filters: dict, settings: WorthItSettings, *, lowest_first: bool):
    """One page of the ranking, and the day of the kept scores it shows (None when computed here).

    The kept scores (reports/scores.py) serve the page, sorted and cut in SQL, unless the person asked
    for another day than they are as of, or none are kept yet: then every score is computed here.
    """
    kept_as_of = scores_serving(requested=request.GET.get("as_of") and filters["as_of"])
    if kept_as_of is None:
        ranking = worth_it_ranking(
            today=filters["as_of"],
            currency=filters.get("currency"),
            segment_id=filters.get("segment_id"),
            collector_id=filters.get("collector_id"),
            lowest_first=lowest_first,
        )
        return Paginator(ranking, RANKING_PAGE_SIZE).get_page(request.GET.get("page")), None
    rows = kept_ranking(
        currency=filters.get("currency"),
        segment_id=filters.get("segment_id"),
        collector_id=filters.get("collector_id"),
        lowest_first=lowest_first,
    )
    page = Paginator(rows, RANKING_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [(row.customer, worth_it_of(row, settings)) for row in page.object_list]
    return page, kept_as_of


@finance_only
def export_csv(request, kind: str):
    form, filters = read_filters(request)
    writers = {
        "figures": exports.write_figures,
        "trend": exports.write_trend,
        "worth-it": exports.write_worth_it,
        "effort": exports.write_effort,
        "forecast": foresight.write_forecast,
        "backtest": foresight.write_backtest,
        "early-warning": foresight.write_early_warnings,
    }
    if kind not in writers:
        raise PermissionDenied("Unknown export.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="creditdesk-{kind}-{filters["as_of"]}.csv"'
    writers[kind](exports.csv_writer(response), **filters)
    return response


@finance_only
def report_pdf(request):
    from weasyprint import HTML

    form, filters = read_filters(request)
    context = {**build_dashboard(**filters), **foresight.pdf_context(filters), "form": form}
    context["definitions"] = {**context["definitions"], **foresight.FORESIGHT_DEFINITIONS}
    html = render_to_string("reports/report_pdf.html", context, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="creditdesk-report-{filters["as_of"]}.pdf"'
    return response
