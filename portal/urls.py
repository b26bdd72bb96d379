"""The customer's pages: everything under /p/<token>/."""

from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/invoices/<int:pk>/", views.invoice, name="invoice"),
    path("<str:token>/statement.pdf", views.statement, name="statement"),
    path("<str:token>/answer/<slug:action>/", views.answer, name="answer"),
]
