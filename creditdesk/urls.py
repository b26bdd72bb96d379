"""Top-level URLs: the browser UI of each app, the admin, and the /api/v1/ API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import tokens, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("health/", views.health, name="health"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("creditdesk.api")),
    path("api-token/", tokens.api_token, name="api-token"),
    path("", include("calls.urls")),
    path("invoices/", include("invoices.urls")),
    path("agreements/", include("agreements.urls")),
    path("dunning/", include("dunning.urls")),
    path("reports/", include("reports.urls")),
    path("bank/", include("banking.urls")),
    path("p/", include("portal.urls")),  # customers, through their personal link: no sign-in
]
# No route serves MEDIA_ROOT: PDF letters go out only through dunning's letter view, which checks the
# user's role and portfolio.

# Under /api/ an unknown address (e.g. /api/v1/customers/1.2e-5/) is a JSON 404 like every other API answer.
handler404 = "creditdesk.views.page_not_found"
# A database fault raised in middleware (session, user, audit context) never reaches the views'
# 503 middleware; the 500 handler answers it as a 503 too.
handler500 = "creditdesk.views.server_error"
