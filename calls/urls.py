"""Browser URLs of the calls app: the worklist, the customer page, customers and complaints.

The invoice, agreement and reminder lists are their own apps' (invoices, agreements, dunning)."""

from django.urls import path

from . import portal_views, views

app_name = "calls"
urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("worklist/assign/", views.assign, name="assign"),
    path("customers/", views.CustomerListView.as_view(), name="customer-list"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/changes/", views.customer_changes, name="customer-changes"),
    path("customers/<int:pk>/timeline/", views.customer_timeline_older, name="customer-timeline"),
    path("customers/<int:pk>/calls/", views.customer_log_call, name="log-call"),
    path("customers/<int:pk>/statement.pdf", views.statement_pdf, name="customer-statement"),
    path("customers/<int:pk>/contacts/new/", views.contact_edit, name="contact-add"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/", views.contact_row, name="contact-row"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/edit/", views.contact_edit, name="contact-edit"),
    path("complaints/", views.ComplaintListView.as_view(), name="complaint-list"),
    path("complaints/<int:pk>/resolve/", views.complaint_resolve, name="complaint-resolve"),
    path("reminders/", views.ReminderListRedirect.as_view(), name="reminder-list"),
    # What customers send through the portal (calls/portal_views.py)
    path("customers/<int:pk>/portal-links/revoke/", portal_views.revoke_links, name="portal-links-revoke"),
    path("plan-proposals/<int:pk>/decide/", portal_views.plan_proposal_decide, name="plan-proposal-decide"),
    path(
        "contact-changes/<int:pk>/decide/", portal_views.contact_change_decide, name="contact-change-decide"
    ),
    path("complaint-files/<int:pk>/", portal_views.complaint_attachment, name="complaint-attachment"),
]
