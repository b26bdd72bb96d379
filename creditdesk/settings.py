"""CreditDesk settings, all read from the environment.

With nothing set, the app runs on SQLite with Celery on a filesystem broker (no server needed);
with DATABASE_URL and REDIS_URL it runs on PostgreSQL and Redis, as in production and CI.
"""

import os
from pathlib import Path

import dj_database_url
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CREDITDESK_VAR_DIR", BASE_DIR / "var"))


def env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Off unless DJANGO_DEBUG says otherwise: `make run` and bin/serve turn it on for the local demo.
DEBUG = env_flag("DJANGO_DEBUG", False)
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "") or DEVELOPMENT_SECRET_KEY
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY and env_flag("CREDITDESK_KEYLESS_COMMAND"):
    # manage.py marks commands that sign nothing (makemigrations, collectstatic...): a key nobody knows,
    # for this process only, lets them run on a machine that has no production key.
    import secrets

    SECRET_KEY = secrets.token_urlsafe(50)
if not DEBUG:
    # Refuse to start in production with a key anyone can read here or guess (Django's own rule for
    # check --deploy: 50+ characters, 5+ distinct ones, not a generated "django-insecure-" key).
    from django.core.checks.security.base import (
        SECRET_KEY_INSECURE_PREFIX,
        SECRET_KEY_MIN_LENGTH,
        SECRET_KEY_MIN_UNIQUE_CHARACTERS,
    )
    from django.core.exceptions import ImproperlyConfigured

    if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random value in production "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DJANGO_DEBUG=true for a local development run."
        )
    if (
        len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
        or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or SECRET_KEY.startswith(SECRET_KEY_INSECURE_PREFIX)
    ):
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is too weak: use at least {SECRET_KEY_MIN_LENGTH} random characters "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

INSTALLED_APPS = [
    "creditdesk.apps.CreditDeskAdminConfig",  # django.contrib.admin, open to credit managers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "auditlog",
    "audit",
    "customers",
    "invoices",
    "banking",  # cash application from bank statements: builds on customers and invoices only
    "agreements",
    "calls",
    "dunning",
    "reports",
    "portal",
    "creditdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out username or address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "creditdesk.urls"
WSGI_APPLICATION = "creditdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "creditdesk.roles.role_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'creditdesk.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while the background worker writes.
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # PostgreSQL's JIT pays off for hour-long analytics, not for a web page: the worklist's query is
    # estimated costly enough to be JIT-compiled, which took 4.5 s of a 5.3 s query measured on the
    # 20,000-customer ledger. Off for every session, so no page pays a savepoint and a SET per request.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Amsterdam")
# English only: no page, form or message is translated. With translation on, every number a template
# prints looked up the active language again (about 3% of the web workers' time under load); the
# en-gb formats (dates, thousands separators) apply either way.
USE_I18N = False
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("CREDITDESK_MEDIA_ROOT", VAR_DIR / "media"))
WHITENOISE_USE_FINDERS = True  # gunicorn serves static files without collectstatic in development
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Audit trail (audit/): django-auditlog with our entry model (adds channel and customer).
AUDITLOG_LOGENTRY_MODEL = "audit.Entry"
AUDITLOG_USE_FK_STRING_REPRESENTATION = True  # "collector: anna -> ben", not user ids
AUDITLOG_DISABLE_REMOTE_ADDR = True  # who and through what, not where from
# auditlog's own LogEntry is swapped for audit.Entry; without its migrations its unused table (with a
# foreign key to content types that a test flush could not truncate) is never created.
MIGRATION_MODULES = {"auditlog": None}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Mail: console by default, SMTP when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_flag("EMAIL_USE_TLS")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "credit@creditdesk.example")

# Celery: Redis when REDIS_URL is set, otherwise a filesystem broker so `make run` needs no server.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_RESULT_BACKEND = None
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),  # kombu's default is ./control
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_flag("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is redelivered; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Memory: no worker process above 500 MB. A child that ends a task above this resident size (KiB) is
# replaced by a fresh one; every child is also recycled after so many tasks. Tasks themselves work a
# batch at a time (dunning: DUNNING_BATCH_SIZE customers), so one task stays far below the cap.
# Deliveries (SMTP, PDF letters) on a queue of their own, so a worker can be kept to the daily run
# (`-Q celery`) or to delivery (`-Q delivery`); a worker started without -Q consumes both.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (
    Queue("celery", Exchange("celery"), routing_key="celery"),
    Queue("delivery", Exchange("delivery"), routing_key="delivery"),
)
CELERY_TASK_ROUTES = {"dunning.tasks.deliver_*": {"queue": "delivery"}}
CELERY_WORKER_MAX_MEMORY_PER_CHILD = int(os.environ.get("CELERY_WORKER_MAX_MEMORY_PER_CHILD", "400000"))
CELERY_WORKER_MAX_TASKS_PER_CHILD = int(os.environ.get("CELERY_WORKER_MAX_TASKS_PER_CHILD", "1000"))
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "customers.pagination.DocumentedPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "creditdesk.api_support.CreditDeskAutoSchema",
    "EXCEPTION_HANDLER": "creditdesk.api_support.handle_api_exception",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("API_THROTTLE_USER", "6000/min"),
        "anon": os.environ.get("API_THROTTLE_ANON", "60/min"),
        "bulk": os.environ.get("API_THROTTLE_BULK", "120/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CreditDesk API",
    "DESCRIPTION": "Keep CreditDesk in step with your ERP: customers, invoices, payments and more.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AgreementKindEnum": "agreements.choices.AgreementKind",
        "TaskKindEnum": "calls.choices.TaskKind",
        "ExcuseCategoryEnum": "calls.choices.ExcuseCategory",
        "ComplaintCategoryEnum": "calls.choices.ComplaintCategory",
        "InteractionOutcomeEnum": "calls.choices.Outcome",
        "ComplaintOutcomeEnum": "calls.choices.ComplaintOutcome",
        "InteractionChannelEnum": "calls.choices.InteractionChannel",
        "CustomerChannelEnum": "customers.choices.Channel",
        "StepChannelEnum": "dunning.choices.StepChannel",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"without_traceback": {"()": "creditdesk.log.WithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Cache errors are ignored by design (IGNORE_EXCEPTIONS below): one line each, no traceback.
        "django_redis.cache": {"filters": ["without_traceback"]},
    },
}

# Tests: when set, a test that needs PostgreSQL, Redis, a worker or a browser fails instead of skipping.
CREDITDESK_REQUIRE_SERVICES = env_flag("CREDITDESK_REQUIRE_SERVICES")
# Rows per page of every browser list (customers.pages.PortfolioListView and the worklist).
CREDITDESK_PAGE_SIZE = 25

# Dunning: the daily run (Celery beat), batches, delivery retries, SMS backend, letter sender.
from celery.schedules import crontab  # noqa: E402

# 1000, not 500: each batch pays a fixed cost whatever its size (its transaction, and the receivers of its
# announced agreements, tasks and reminders: about a hundred queries); on 50,000 customers 19 batches
# instead of 37 took the day's run from 14.2-17.7 s to 11.9-14.3 s on 2 workers (bench/dunning.py, four
# runs each on fresh copies, the last four alternated), at the same worker memory (118 MB).
DUNNING_BATCH_SIZE = int(os.environ.get("DUNNING_BATCH_SIZE", "1000"))
# The day's prepayment proposals, this many candidates per transaction and per task (dunning.tasks): small
# enough that the workers share a day's few thousand candidates.
DUNNING_PROPOSAL_CHUNK = int(os.environ.get("DUNNING_PROPOSAL_CHUNK", "1000"))
DUNNING_DELIVERY_MAX_RETRIES = int(os.environ.get("DUNNING_DELIVERY_MAX_RETRIES", "5"))
DUNNING_RETRY_BACKOFF_MAX = int(os.environ.get("DUNNING_RETRY_BACKOFF_MAX", "3600"))  # seconds
DUNNING_SENDING_TIMEOUT = int(os.environ.get("DUNNING_SENDING_TIMEOUT", "900"))  # a claim older is stale
DUNNING_SMS_BACKEND = os.environ.get("DUNNING_SMS_BACKEND", "dunning.delivery.LoggingSmsBackend")
DUNNING_SENDER = os.environ.get("DUNNING_SENDER", "Credit department, CreditDesk")
# Customer self-service (portal/): a personal link in every reminder. Links expire after PORTAL_LINK_DAYS;
# a promise made there may not be later than PORTAL_PROMISE_MAX_DAYS from the day it is made; "already
# paid" pauses the reminders of its invoices for PORTAL_PAID_PAUSE_BUSINESS_DAYS. PORTAL_BASE_URL is how
# customers reach the app from outside (reminders are sent by the worker, which has no request).
PORTAL_LINK_DAYS = int(os.environ.get("PORTAL_LINK_DAYS", "60"))
PORTAL_PROMISE_MAX_DAYS = int(os.environ.get("PORTAL_PROMISE_MAX_DAYS", "30"))
PORTAL_PAID_PAUSE_BUSINESS_DAYS = int(os.environ.get("PORTAL_PAID_PAUSE_BUSINESS_DAYS", "5"))
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
PORTAL_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
# Attachments customers upload: outside MEDIA_ROOT's public URL and the static root, served by a staff view.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("CREDITDESK_PRIVATE_MEDIA_ROOT", VAR_DIR / "private"))
# Requests per minute a portal link, and one address, may make (POSTs count more: see portal/throttle.py).
PORTAL_RATE_PER_TOKEN = int(os.environ.get("PORTAL_RATE_PER_TOKEN", "60"))
PORTAL_RATE_PER_ADDRESS = int(os.environ.get("PORTAL_RATE_PER_ADDRESS", "120"))
DUNNING_RUN_HOUR = int(os.environ.get("DUNNING_RUN_HOUR", "6"))  # local hour of the daily run
REPORTS_SNAPSHOT_HOUR = int(os.environ.get("REPORTS_SNAPSHOT_HOUR", "1"))  # local hour of the snapshots

# Cash application (banking/): a match at or above this confidence (0-1) is applied at once, below it
# waits in the queue; a payment short of its invoices by at most the fee tolerance (in the payment's
# currency) counts as a bank fee, and the difference is left open or the invoice written off.
BANKING_AUTO_APPLY_CONFIDENCE = float(os.environ.get("BANKING_AUTO_APPLY_CONFIDENCE", "0.9"))
BANKING_FEE_TOLERANCE = os.environ.get("BANKING_FEE_TOLERANCE", "15.00")
BANKING_SHORT_PAYMENT = os.environ.get("BANKING_SHORT_PAYMENT", "leave_open")  # or "write_off"
CELERY_BEAT_SCHEDULE = globals().get("CELERY_BEAT_SCHEDULE", {})
CELERY_BEAT_SCHEDULE.update(
    {
        "dunning-daily-run": {
            "task": "dunning.tasks.run_dunning",
            "schedule": crontab(hour=DUNNING_RUN_HOUR, minute=0),
        },
        "dunning-deliver-pending": {"task": "dunning.tasks.deliver_pending", "schedule": 600.0},
        # The worth-it score covers the 12 months to today: just after midnight every kept score moves on.
        "reports-rebuild-worth-it": {
            "task": "reports.tasks.rebuild_worth_it",
            "schedule": crontab(hour=0, minute=15),
        },
        # The worklist's standings (calls.standing): stale overdue amounts restated for the new day,
        # then every row checked against the ledger, drift logged and repaired.
        "calls-roll-standings": {
            "task": "calls.tasks.roll_standings_forward",
            "schedule": crontab(hour=0, minute=5),
        },
        "calls-check-standings": {
            "task": "calls.tasks.check_standings",
            "schedule": crontab(hour=2, minute=30),
        },
        # Early warnings and the forecast's backtest look back from today: both move on every night.
        "reports-early-warnings": {
            "task": "reports.tasks.rebuild_early_warnings",
            "schedule": crontab(hour=0, minute=25),
        },
        # The forecast's days-late bins (reports/lateness.py), before the backtest and the mornings' reads.
        "reports-lateness": {
            "task": "reports.tasks.rebuild_lateness",
            "schedule": crontab(hour=0, minute=35),
        },
        "reports-backtest": {
            "task": "reports.tasks.refresh_backtest",
            "schedule": crontab(hour=0, minute=45),
        },
        # Yesterday's ledger snapshot, and any day a back-dated write invalidated (reports/snapshots.py).
        "reports-snapshots": {
            "task": "reports.tasks.refresh_snapshots",
            "schedule": crontab(hour=REPORTS_SNAPSHOT_HOUR, minute=15),
        },
    }
)
# Dashboard sections are cached per ledger version (reports/sections.py) only in a cache that every
# process shares: with the per-process memory cache, one process would not see another's new version.
REPORTS_CACHE_SECONDS = int(os.environ.get("REPORTS_CACHE_SECONDS", "900" if REDIS_URL else "0"))
# A cold backtest's week-end forecasts are made side by side on this many database connections
# (reports/backtest.py): about the database server's cores, since each is a few seconds of its work.
REPORTS_BACKTEST_CONNECTIONS = int(os.environ.get("REPORTS_BACKTEST_CONNECTIONS", "2"))
# WeasyPrint narrates every layout step at INFO; keep the worker log for what matters.
LOGGING["loggers"].update({"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}})


# Sign-in throttling (django-axes): every sign-in goes through django.contrib.auth.authenticate (the
# login page, the admin's login, and so the session the browsable API and htmx use; API tokens involve
# no password). After AXES_FAILURE_LIMIT failures for one username (from any address) or from one
# address (for any username), sign-ins are refused for AXES_COOLOFF_MINUTES. Failures are forgotten after
# the cool-off, not on a success: a success resets every count of its address, victims' included, so an
# insider could otherwise interleave their own sign-ins with guesses at a colleague's password.
# Each comma-separated entry of AXES_LOCKOUT_PARAMETERS is its own lockout; "+" joins fields into one.
from datetime import timedelta  # noqa: E402

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [
    entry.split("+") if "+" in entry else entry
    for entry in env_list("AXES_LOCKOUT_PARAMETERS", "username,ip_address")
]
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False  # no banner on every manage.py command; failures and lockouts are still logged
AXES_LOCKOUT_CALLABLE = "creditdesk.signin.lockout_response"
AXES_LOCKOUT_CONTACT = os.environ.get("AXES_LOCKOUT_CONTACT", "a credit manager or your administrator")
# The client's address: REMOTE_ADDR, unless the app runs behind reverse proxies that append the client
# to a header (X-Forwarded-For). Then CREDITDESK_CLIENT_IP_HEADER names the header and
# CREDITDESK_PROXY_COUNT says how many proxies append to it; the address the first of them appended is
# taken, so a client cannot pick its address by sending the header itself.
CREDITDESK_CLIENT_IP_HEADER = os.environ.get("CREDITDESK_CLIENT_IP_HEADER", "").strip()
CREDITDESK_PROXY_COUNT = env_int("CREDITDESK_PROXY_COUNT", 0)
if CREDITDESK_CLIENT_IP_HEADER:
    AXES_IPWARE_META_PRECEDENCE_ORDER = (
        "HTTP_" + CREDITDESK_CLIENT_IP_HEADER.upper().replace("-", "_"),
        "REMOTE_ADDR",
    )
    # ipware counts the proxies listed in the header: all but the one that connects to the app.
    AXES_IPWARE_PROXY_COUNT = max(CREDITDESK_PROXY_COUNT - 1, 0)
    AXES_IPWARE_PROXY_ORDER = "left-most"
    IPWARE_STRICT = False  # a client's own X-Forwarded-For entries are skipped, not a reason to give up
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

# HTTPS and headers. The proxy's X-Forwarded-Proto is trusted only when DJANGO_TRUST_X_FORWARDED_PROTO
# says the proxy sets it (and strips a client's own).
if env_flag("DJANGO_TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_flag("DJANGO_SECURE_SSL_REDIRECT", True)
    # Secure cookies follow HTTPS: served over plain HTTP (SSL redirect off), a browser would never
    # send them back and every sign-in would fail its CSRF check.
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_flag("DJANGO_SECURE_COOKIES", SECURE_SSL_REDIRECT)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_flag("DJANGO_SECURE_HSTS_PRELOAD", True)

# Content-Security-Policy (django-csp): the app's own files only; no inline script or style, no frames.
# data: images are for the API docs' icons.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Faults (issue 9): PostgreSQL, Redis or SMTP down must not break the app --------------------
# PostgreSQL: a persistent connection is checked before a request reuses it, so a restart of the
# database costs no failed request once it is back; connecting gives up after 5 s, and a request
# that meets a database down answers 503 with Retry-After (creditdesk.middleware).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
# Before axes, which must stay last.
MIDDLEWARE.insert(
    MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "creditdesk.middleware.DatabaseUnavailableMiddleware"
)
# Read replica (issue 10): with DATABASE_REPLICA_URL, a PostgreSQL streaming replica of the primary,
# the reports (dashboard, worth-it ranking, exports, reports API) read from it and nothing else does
# (creditdesk/db_routers.py, reports/replica.py). Without it, everything stays on DATABASE_URL.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
REPORT_READS_DATABASE = "replica" if DATABASE_REPLICA_URL else None
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"], conn_health_checks=True
    )
    if DATABASES["replica"]["ENGINE"].endswith("postgresql"):
        # A replica that is down costs a report this long once, then REPLICA_RETRY_SECONDS on the primary.
        DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
        DATABASES["replica"]["OPTIONS"]["options"] = "-c jit=off"  # as on the primary
DATABASE_ROUTERS = ["creditdesk.db_routers.ReportReplicaRouter"]
REPLICA_RETRY_SECONDS = env_int("REPLICA_RETRY_SECONDS", 30)
# After a person changes something, their report reads stay on the primary this long (read your writes).
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 15)
MIDDLEWARE.insert(
    MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "creditdesk.middleware.ReplicaPinMiddleware"
)
# SMTP: a server that accepts the connection but never answers must not hold a worker forever.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
# Redis down: nobody reads task results (a task's counts are in the worker log), and subscribing to
# the result store on every .delay() is what made queueing wait ~20 s for a Redis that was down;
# without it, publishing gives up after Celery's short retry policy (about a second).
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] = 2
# The daily run: when beat could not queue it at DUNNING_RUN_HOUR (Redis down), catch_up_dunning
# runs it at the next ten-minute tick after Redis is back (dunning/tasks.py).
CELERY_BEAT_SCHEDULE["dunning-catch-up"] = {"task": "dunning.tasks.catch_up_dunning", "schedule": 600.0}
# The cache (DRF's throttle counters) on django-redis, which can ignore a Redis that is down:
# Django's own RedisCache raises, which turned every API request into a 500. While Redis is down,
# throttling is not enforced (logged) rather than refusing all API traffic.
if REDIS_URL:
    CACHES["default"] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": CACHES["default"]["LOCATION"],
        "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
