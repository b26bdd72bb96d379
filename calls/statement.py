"""The customer's statement of account as PDF, shared by the staff's customer page and the portal."""

from datetime import date

from django.template.loader import render_to_string

from customers.models import Customer

from . import selectors


def statement_pdf(customer: Customer, *, today: date, base_url: str, request=None) -> bytes:
    """Open invoices, aging and recent payments of one customer on `today`, rendered by WeasyPrint."""
    from weasyprint import HTML  # heavy import, only where PDFs are made

    html = render_to_string(
        "calls/statement.html",
        {
            "customer": customer,
            "today": today,
            "invoices": selectors.open_invoices_of(customer, today=today, limit=1000),
            "positions": selectors.position_of(customer, today=today),
            "payments": customer.payments.order_by("-received_on")[:20],
            "aging_buckets": selectors.AGING_BUCKETS,
            "contact": customer.contacts.filter(is_primary=True).first(),
        },
        request=request,
    )
    return HTML(string=html, base_url=base_url).write_pdf()
