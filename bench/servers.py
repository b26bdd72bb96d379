"""The processes a user's request meets: gunicorn (2 gthread workers, DEBUG off, the normal settings) and a
Celery worker, started on a pass's database, plus RSS sampling of their worker processes (psutil).

Nothing here changes how the app runs: no benchmark settings module, database sessions, no rollback.
Only SSL redirection is off, as the benchmark speaks plain HTTP to its own server on loopback.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))


def app_environment(database_url: str, var_dir: Path, *, reports_cached: bool = False) -> dict:
    """The app's environment: DEBUG off, this database, and the dashboard's cache off, or as deployed
    (`reports_cached`: creditdesk/settings.py's default with REDIS_URL, or BENCH_REPORTS_CACHE_SECONDS)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "creditdesk.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP to our own loopback server
        "CREDITDESK_VAR_DIR": str(var_dir),
    }
    if not reports_cached:
        # Every single-client figure is what the first finance lead after a ledger change waits for.
        env["REPORTS_CACHE_SECONDS"] = "0"
    elif "BENCH_REPORTS_CACHE_SECONDS" in os.environ:
        env["REPORTS_CACHE_SECONDS"] = os.environ["BENCH_REPORTS_CACHE_SECONDS"]
    else:
        env.pop("REPORTS_CACHE_SECONDS", None)
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Servers:
    """gunicorn and a Celery worker on one database; a context manager that stops them (by pid)."""

    def __init__(self, database_url: str, var_dir: Path, celery: bool = True, reports_cached: bool = False):
        self.env = app_environment(database_url, var_dir, reports_cached=reports_cached)
        self.var_dir = var_dir
        self.celery = celery
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []

    def __enter__(self):
        for folder in ("celery/queue", "celery/processed", "celery/control", "media"):
            (self.var_dir / folder).mkdir(parents=True, exist_ok=True)  # the broker without REDIS_URL
        bin_dir = Path(sys.executable).parent
        self.web = self.start(
            [str(bin_dir / "gunicorn"), "creditdesk.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(WEB_WORKERS), "--timeout", "180"],
            "gunicorn.log",
        )  # fmt: skip
        self.worker = None
        if self.celery:
            self.worker = self.start(
                [str(bin_dir / "celery"), "-A", "creditdesk", "worker", "--loglevel=WARNING",
                 "--concurrency=2"],
                "celery.log",
            )  # fmt: skip
        self.wait_until_up()
        return self

    def start(self, command: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.var_dir / log_name, "a")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def wait_until_up(self) -> None:
        for _ in range(300):
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.var_dir / 'gunicorn.log'}")
            try:
                urllib.request.urlopen(f"{self.base}/health/", timeout=5).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the benchmark's gunicorn did not answer /health/")

    def __exit__(self, *exc):
        # gunicorn: quick shutdown (SIGINT), the figures are taken; its graceful one idles ~10 s.
        # Celery: warm shutdown (SIGTERM), so a task it runs is acknowledged, not redelivered.
        children = self.children()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT if process is self.web else signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # A gthread worker once outlived its arbiter's quick shutdown, idle, adopted by init, into the
        # next pass: whatever the servers started and is still there goes now.
        for child in children:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass

    def children(self) -> list:
        """Every process the servers started, below gunicorn's arbiter and Celery's main process."""
        found = []
        for process in self.processes:
            try:
                found += psutil.Process(process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
        return found

    def worker_pids(self) -> dict[str, list[int]]:
        """The processes that serve: gunicorn's workers (not its arbiter) and the Celery worker's
        processes (its main process and its pool children)."""
        kinds: dict[str, list[int]] = {"web": [], "worker": []}
        try:
            kinds["web"] = [child.pid for child in psutil.Process(self.web.pid).children()]
        except psutil.NoSuchProcess:
            pass
        if self.worker is not None:
            try:
                main = psutil.Process(self.worker.pid)
                kinds["worker"] = [main.pid, *(child.pid for child in main.children(recursive=True))]
            except psutil.NoSuchProcess:
                pass
        return kinds


class RssSampler(threading.Thread):
    """Samples the RSS of every serving process twice a second; keeps the peak per kind (MB)."""

    def __init__(self, servers: Servers, interval: float = 0.5):
        super().__init__(daemon=True)
        self.servers, self.interval = servers, interval
        self.peak_mb = {"web": 0.0, "worker": 0.0}
        self.samples = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for kind, pids in self.servers.worker_pids().items():
                for pid in pids:
                    try:
                        rss = psutil.Process(pid).memory_info().rss / 2**20
                    except psutil.NoSuchProcess:
                        continue
                    self.peak_mb[kind] = max(self.peak_mb[kind], rss)
            self.samples += 1
            self.stopping.wait(self.interval)

    def stop(self) -> dict:
        self.stopping.set()
        self.join(timeout=10)
        return {**self.peak_mb, "samples": self.samples}
