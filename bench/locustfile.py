"""The load test's users (Locust): the four kinds of people who use CreditDesk at once.

Run by bench/load.py as `locust -f bench/locustfile.py --headless ...` with BENCH_LOCUST_PLAN naming a
JSON file the pass wrote: the demo password, each collector's portfolio, the worklist and dashboard
URLs, open invoices the integrator's payments can be allocated to, and the integrator's API token.
Browser users sign in through the real login form; every request is a real one (no rollback): calls
are logged and payments recorded, which is why each pass runs on its own copy of the ledger.
A response other than the expected status, or a page that lands on the sign-in form, is a failure.
Think time is 1 to 3 s between actions: busier than people are, so 16 users stand for more.
"""

import json
import os
import random
import re
import uuid

from locust import HttpUser, between, task

PLAN = json.loads(open(os.environ["BENCH_LOCUST_PLAN"]).read()) if "BENCH_LOCUST_PLAN" in os.environ else {}
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class BrowserUser(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    username = ""

    def on_start(self):
        form = self.client.get("/login/", name="GET /login/")
        token = CSRF_FIELD.search(form.text).group(1)
        with self.client.post(
            "/login/",
            data={"username": self.username, "password": PLAN["password"], "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/login/"},
            name="POST /login/",
            catch_response=True,
        ) as response:
            if "/login/" in response.url or "sessionid" not in self.client.cookies:
                response.failure(f"sign-in as {self.username} failed")

    def page(self, path: str, name: str):
        """GET a whole page; a redirect to the sign-in form counts as a failure."""
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code == 200 and "/login/" in response.url:
                response.failure("redirected to the sign-in form")
            return response


class Collector(BrowserUser):
    """Works the own worklist: opens customers, calls them, logs each call through the real form."""

    weight = 8

    def on_start(self):
        self.username = random.choice(sorted(PLAN["portfolios"]))
        self.portfolio = PLAN["portfolios"][self.username]
        super().on_start()

    @task(4)
    def worklist(self):
        name, path = random.choice(list(PLAN["worklist_urls"].items()))
        self.page(path, f"worklist ({name})")

    @task(4)
    def customer_page(self):
        self.page(f"/customers/{random.choice(self.portfolio)}/", "customer page")

    @task(1)
    def log_call(self):
        pk = random.choice(self.portfolio)
        page = self.page(f"/customers/{pk}/", "customer page")
        token = CSRF_FIELD.search(page.text or "")
        if token is None:
            return
        with self.client.post(
            f"/customers/{pk}/calls/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "channel": "phone",
                "outcome": random.choice(["no_answer", "voicemail", "reached"]),
                "minutes_spent": "3",
                "notes": "Load test call.",
            },
            headers={"Referer": f"{self.host}/customers/{pk}/"},
            name="POST log a call",
            catch_response=True,
        ) as response:
            # The form redirects to the customer page when the call is saved; a 400 re-renders it.
            if response.status_code != 200 or not response.history:
                response.failure(f"call not saved (status {response.status_code})")


class CreditManager(BrowserUser):
    """Sorts and filters the whole worklist and pages through it."""

    weight = 4
    username = "manager"

    @task
    def worklist(self):
        sort = random.choice(["priority", "amount", "days", "name"])
        filters = random.choice(
            ["", "&min_days_overdue=30", "&min_amount=1000", "&min_days_overdue=60&min_amount=500"]
        )
        page = random.choice([1, 1, 2, 5, 20])
        self.page(f"/worklist/?sort={sort}{filters}&page={page}", "worklist (manager, filter + sort)")


class FinanceLead(BrowserUser):
    """Opens the dashboard (and its sections, once split) and the worth-it ranking."""

    weight = 3
    username = "finance"

    @task(4)
    def dashboard(self):
        for path in PLAN["dashboard_urls"]:
            self.page(path, f"dashboard {path.split('?')[0]}")

    @task(1)
    def worth_it(self):
        self.page(PLAN["worth_it_url"], "worth-it ranking")


class Integrator(HttpUser):
    """The ERP: posts payments in bulk (each allocated to an open invoice) and reads the lists."""

    fixed_count = 1
    wait_time = between(1, 3)
    batch = 20

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {PLAN['token']}"

    @task(2)
    def bulk_payments(self):
        payments = []
        for account, number, currency in random.sample(
            PLAN["open_invoices"], min(self.batch, len(PLAN["open_invoices"]))
        ):
            payments.append(
                {
                    "customer": account,
                    "reference": f"LOAD-{uuid.uuid4().hex[:20]}",
                    "received_on": PLAN["today"],
                    "amount": "1.00",
                    "currency": currency,
                    "allocations": [{"invoice": number, "amount": "1.00"}],
                }
            )
        self.client.post(
            "/api/v1/payments/bulk/",
            json={"payments": payments},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            name="API bulk payments (20)",
        )

    @task(1)
    def lists(self):
        for name, path in PLAN["api_urls"].items():
            self.client.get(path, name=name)
