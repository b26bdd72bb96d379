"""Browser URLs of the reports app."""

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("section/<slug:name>/", views.section, name="section"),
    path("worth-it/", views.worth_it, name="worth-it"),
    path("export/<slug:kind>.csv", views.export_csv, name="export"),
    path("report.pdf", views.report_pdf, name="pdf"),
]
