"""Browser URLs of the dunning app."""

app_name = "dunning"
urlpatterns: list = []
