"""Browser URLs of the calls app."""

app_name = "calls"
urlpatterns: list = []
