"""Settings for the UI benchmark's server: the app as configured, but leaving the database untouched.

Sessions live in signed cookies (logging in writes no row), and every request runs in a transaction
that is rolled back at the end (the worth-it revenue snapshot, for one, is a cache the reports app
writes). So the benchmark can run against a shared database such as cd_big.
"""

from creditdesk.settings import *  # noqa: F403
from creditdesk.settings import MIDDLEWARE

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MIDDLEWARE = ["bench.ui_settings.RollBackEveryRequest", *MIDDLEWARE]


class RollBackEveryRequest:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.db import transaction

        with transaction.atomic():
            response = self.get_response(request)
            transaction.set_rollback(True)
        return response
