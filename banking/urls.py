"""Browser URLs of the banking app, under /bank/."""

from django.urls import path

from . import views

app_name = "banking"
urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("queue/", views.queue, name="queue"),
    path("queue/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("queue/<int:pk>/match/", views.match_by_hand, name="match"),
]
