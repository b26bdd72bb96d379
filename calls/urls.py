"""Browser URLs of the calls app: the worklist, the customer page and the lists."""

from django.urls import path

from . import portal_views, views

app_name = "calls"
urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("worklist/assign/", views.assign, name="assign"),
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/changes/", views.customer_changes, name="customer-changes"),
    path("customers/<int:pk>/timeline/", views.customer_timeline_older, name="customer-timeline"),
    path("customers/<int:pk>/calls/", views.customer_log_call, name="log-call"),
    path("customers/<int:pk>/statement.pdf", views.statement_pdf, name="customer-statement"),
    path("customers/<int:pk>/contacts/new/", views.contact_edit, name="contact-add"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/", views.contact_row, name="contact-row"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/edit/", views.contact_edit, name="contact-edit"),
    path("invoices/", views.invoice_list, name="invoice-list"),
    path("agreements/", views.agreement_list, name="agreement-list"),
    path("complaints/", views.complaint_list, name="complaint-list"),
    path("complaints/<int:pk>/resolve/", views.complaint_resolve, name="complaint-resolve"),
    path("reminders/", views.reminder_list, name="reminder-list"),
    # What customers send through the portal (calls/portal_views.py)
    path("customers/<int:pk>/portal-links/revoke/", portal_views.revoke_links, name="portal-links-revoke"),
    path("plan-proposals/<int:pk>/decide/", portal_views.plan_proposal_decide, name="plan-proposal-decide"),
    path(
        "contact-changes/<int:pk>/decide/", portal_views.contact_change_decide, name="contact-change-decide"
    ),
    path("complaint-files/<int:pk>/", portal_views.complaint_attachment, name="complaint-attachment"),
]
