"""Real services for the integration tests: a Celery worker, an SMTP inbox, and private PostgreSQL,
Redis and gunicorn processes that a test may stop and start at will.

The shared PostgreSQL and Redis (DATABASE_URL, REDIS_URL) are used by other runs at the same time,
so a fault is never played on them: a test that takes a service down starts its own on a free port.
"""

import email
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import need_service

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout}s waiting for {what}")


def redis_available() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- SMTP ----------------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def reminder_ids(self) -> list[int]:
        return [int(message["X-CreditDesk-Reminder"]) for message in self.messages]


def start_smtp(inbox: Inbox, port: int):
    from aiosmtpd.controller import Controller

    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = controller.port
    return controller


@pytest.fixture
def smtp_inbox():
    inbox = Inbox()
    controller = start_smtp(inbox, free_port())
    yield inbox
    controller.stop()


# --- A Celery worker on the test database and REDIS_URL -----------------------------------------


@pytest.fixture
def celery_app():
    need_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    need_service(redis_available(), "Redis (set REDIS_URL)")
    from creditdesk.celery import app

    app.control.purge()
    yield app
    app.control.purge()


def worker_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def start_worker(celery_app, tmp_path):
    """start(name, **env) starts a worker process on the test database and returns its Popen.

    `env` overrides the worker's environment (EMAIL_PORT, DUNNING_* settings...). Every worker is
    stopped after the test.
    """
    base_env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_HOST": "127.0.0.1",
        "DUNNING_BATCH_SIZE": "4",
        "DUNNING_SENDING_TIMEOUT": "2",
        "CREDITDESK_MEDIA_ROOT": str(tmp_path / "media"),
        "CREDITDESK_VAR_DIR": str(tmp_path / "var"),
    }
    workers: list[subprocess.Popen] = []

    def start(name: str, **env: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "creditdesk", "worker", "--pool=solo", "-l", "info",
             "-n", f"{name}-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env={**base_env, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        stop_process(worker)


# --- Private PostgreSQL and Redis, to stop and start ---------------------------------------------


def postgres_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    on_path = shutil.which("initdb")
    for directory in [*reversed(candidates), *([str(Path(on_path).parent)] if on_path else [])]:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    return None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temp dir on a free port (run as `postgres` when we are root)."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="creditdesk-pg-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:  # initdb refuses to run as root
            shutil.chown(self.dir, "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/creditdesk"

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.start()
        import psycopg2

        admin = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        admin.autocommit = True
        admin.cursor().execute("CREATE DATABASE creditdesk")
        admin.close()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server on a free port, without persistence; stop() and start() keep the port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        import redis

        client = redis.Redis(port=self.port, socket_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, 10, "the private redis-server")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


def need_private_services() -> Path:
    """The fault tests run with the PostgreSQL integration run (DATABASE_URL), and need server binaries."""
    need_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    bin_dir = postgres_bin_dir()
    need_service(bin_dir is not None, "PostgreSQL server binaries (initdb, pg_ctl)")
    need_service(shutil.which("redis-server") is not None, "redis-server")
    return bin_dir


@pytest.fixture(scope="session")
def app_database():
    """A private, migrated PostgreSQL with a credit manager: (PrivatePostgres, username, password, token)."""
    bin_dir = need_private_services()
    postgres = PrivatePostgres(bin_dir)
    try:
        postgres.init()
        env = {**os.environ, "DATABASE_URL": postgres.url, "REDIS_URL": ""}
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
        script = (
            "from django.contrib.auth import get_user_model\n"
            "from django.contrib.auth.models import Group\n"
            "from customers.access import Role\n"
            "from creditdesk.tokens import issue_token\n"
            "user = get_user_model().objects.create_user('faults-cm', password='fault-pass-123')\n"
            "user.groups.add(Group.objects.get(name=Role.CREDIT_MANAGER.label))\n"
            "print(issue_token(user).key)\n"
        )
        made = subprocess.run(
            [*manage, "shell", "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        postgres.credentials = ("faults-cm", "fault-pass-123", made.stdout.strip().splitlines()[-1])
        yield postgres
    finally:
        postgres.destroy()


class ServedApp:
    """gunicorn serving CreditDesk on a free port with the given environment."""

    def __init__(self, env: dict[str, str], var_dir: Path, workers: int = 1, threads: int = 4):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "faults-test-secret-key-" + "x" * 40,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "CREDITDESK_VAR_DIR": str(var_dir),
            "DATABASE_CONN_MAX_AGE": "60",
            **env,
        }
        var_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = var_dir / "gunicorn.log"
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "creditdesk.wsgi", "-b", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--threads", str(threads), "--timeout", "60"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        import requests

        def answers() -> bool:
            try:
                requests.get(self.base_url + "/login/", timeout=2)
                return True
            except requests.RequestException:
                return False

        wait_until(answers, 30, f"gunicorn (log: {self.log_path})")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def browser_session(app: ServedApp, username: str, password: str):
    """A requests session logged in through the login form, as a browser would."""
    import re

    import requests

    session = requests.Session()
    form = session.get(app.base_url + "/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = session.post(
        app.base_url + "/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": app.base_url + "/login/"},
        timeout=10,
    )
    assert answer.status_code == 200 and "/login/" not in answer.url, answer.text[:500]
    return session
