"""Browser URLs of the agreements app."""

from django.urls import path

from . import views

app_name = "agreements"
urlpatterns = [
    path("", views.AgreementListView.as_view(), name="agreement-list"),
]
