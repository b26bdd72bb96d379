"""Browser URLs of the dunning app."""

from django.urls import path

from . import views

app_name = "dunning"
urlpatterns: list = [
    path("reminders/", views.ReminderListView.as_view(), name="reminder-list"),
    path("reminders/<int:pk>/letter.pdf", views.letter_pdf, name="letter-pdf"),
    path("reminders/<int:pk>/retry/", views.reminder_retry, name="reminder-retry"),
    path("proposals/", views.proposal_list, name="proposal-list"),
    path("proposals/<int:pk>/decide/", views.proposal_decide, name="proposal-decide"),
]
