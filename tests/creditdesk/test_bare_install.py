"""A bare install (no `make run`, no Redis) works in whatever CREDITDESK_VAR_DIR names, empty or missing."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

ROOT = settings.BASE_DIR
LEFT_OUT = ("DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "CREDITDESK_MEDIA_ROOT", "DJANGO_DEBUG")


def bare_env(var_dir: Path) -> dict:
    """The environment of a fresh checkout's shell: SQLite and the filesystem broker in `var_dir`."""
    env = {name: value for name, value in os.environ.items() if name not in LEFT_OUT}
    env.update(CREDITDESK_VAR_DIR=str(var_dir), DJANGO_DEBUG="true")
    return env


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_run_dunning_queues_deliveries_after_a_bare_migrate_in_an_empty_var_dir(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    env = bare_env(var_dir)

    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--customers=3", "--seed=1", "--today=2026-11-23", "-v0")
    output = manage(env, "run_dunning", "--date=2027-01-15", "--summary-only")

    queued = int(re.search(r"Queued (\d+) delivery", output).group(1))
    assert queued > 0
    assert len(list((var_dir / "celery" / "queue").iterdir())) == queued  # the messages, where settings say
    assert (var_dir / "celery" / "control").is_dir()  # the exchange table too, not ./control in the clone


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_bin_serve_keeps_its_queue_and_logs_in_creditdesk_var_dir(tmp_path):
    var_dir = tmp_path / "elsewhere" / "var"  # not there yet
    env = {**bare_env(var_dir), "VENV": sys.prefix, "PORT": str(free_port())}
    serve = subprocess.Popen(
        [str(ROOT / "bin" / "serve")], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (var_dir / "worker.log").exists() and time.monotonic() < deadline and serve.poll() is None:
            time.sleep(0.2)
        assert (var_dir / "worker.log").exists(), "bin/serve wrote no worker log in CREDITDESK_VAR_DIR"
        assert (var_dir / "celery" / "queue").is_dir() and (var_dir / "celery" / "processed").is_dir()
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()


def test_makemigrations_check_runs_without_a_production_key_but_serving_commands_still_refuse(tmp_path):
    env = {
        name: value
        for name, value in bare_env(tmp_path).items()
        if name not in {"DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_SECURE_SSL_REDIRECT"}
    }
    assert "No changes detected" in manage(env, "makemigrations", "--check", "--dry-run")
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0 and "DJANGO_SECRET_KEY is not set" in refused.stderr
