"""One day's dunning run with real Celery workers, then its same-day repeat: wall time, what it made,
and the workers' peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_dunning_big50k REDIS_URL=redis://127.0.0.1:6379/7 \
        BENCH_DUNNING_DATE=2026-11-24 python -m bench dunning

The database must be a copy (the run commits: reminders, settled agreements, proposals). First, as in
production, the nightly upkeep that beat runs before the 06:00 run (00:05 standings rolled forward,
00:15 worth-it scores rebuilt for the new day) is done and timed apart (`nightly_upkeep_seconds`):
without it every batch's refresh of its reminded customers' worth-it scores found them a day old and
re-ranked the whole currency, work that grew with the ledger in every batch (most of the old 120 s on
50,000 customers), and which no real 06:00 run does. The benchmark starts one worker process with
BENCH_DUNNING_WORKERS (default 2) pool children on the run's queue
only (`-Q celery`), queues `dunning.tasks.run_dunning` as beat would, and times it from queueing until
its last task (the proposals for agreements broken today, which waits on every batch) has finished:
reminders decided, created and their deliveries queued. Delivery itself (SMTP, PDF letters) is on the
`delivery` queue, not consumed here, and purged afterwards. Then the same day again: it must create
nothing. While both run, the RSS of the worker and of each child is sampled from /proc.

`run(size=...)` is the same measurement for a test: without Redis (or with in_process=True) the run's
tasks execute in this process (eagerly), on whatever the database holds; with `size`, an empty
database is first seeded with that many demo customers. It returns the figures as a dict and asserts
nothing; `main()` prints them.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditdesk.settings")
    django.setup()
    figures = run(
        today=os.environ.get("BENCH_DUNNING_DATE") or None,
        workers=int(os.environ.get("BENCH_DUNNING_WORKERS", "2")),
    )
    for key, value in figures.items():
        print(f"{key}: {value}")


def run(
    *, size: int | None = None, today: str | None = None, workers: int = 2, in_process: bool | None = None
) -> dict:
    """Run one day's dunning twice (the day, then its repeat) and return the figures."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from customers.models import Customer
    from dunning.services import ensure_standard_policy

    if size is not None and not Customer.objects.exists():
        seed(size)
    ensure_standard_policy()
    day = date.fromisoformat(today) if today else timezone.localdate()
    if in_process is None:
        in_process = not (settings.REDIS_URL and connection.vendor == "postgresql")
    upkeep_seconds, _ = timed(nightly_upkeep)
    figures = {
        "database": f"{connection.vendor} {connection.settings_dict['NAME']}",
        "customers": Customer.objects.count(),
        "day": day.isoformat(),
        "mode": "in process (eager)" if in_process else f"1 Celery worker, {workers} processes, Redis",
        "batch_size": settings.DUNNING_BATCH_SIZE,
        "nightly_upkeep_seconds": round(upkeep_seconds, 1),
        "load_average_before": load_average(),
    }
    if in_process:
        figures.update(run_in_process(day))
    else:
        figures.update(run_on_workers(day, workers))
    figures["load_average_after"] = load_average()
    return figures


def nightly_upkeep() -> None:
    """What beat runs after midnight, before the day's run: the kept figures brought to the day the
    run's workers see (their clock: the receivers refresh scores as of `timezone.localdate()`)."""
    from calls.tasks import roll_standings_forward
    from reports.tasks import rebuild_worth_it

    roll_standings_forward()
    rebuild_worth_it()


def seed(size: int) -> None:
    from django.core.management import call_command

    call_command("seed_demo", customers=size, seed=1, today="2026-11-23", verbosity=0)


def made_on(day: date) -> dict:
    from dunning.models import Proposal, Reminder

    return {
        "reminders": Reminder.objects.filter(run_on=day).count(),
        "proposals": Proposal.objects.filter(proposed_on=day).count(),
    }


def run_in_process(day: date) -> dict:
    from creditdesk.celery import app
    from dunning import tasks

    before = made_on(day)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        first = timed(lambda: tasks.run_dunning(day.isoformat()))
        after_first = made_on(day)
        again = timed(lambda: tasks.run_dunning(day.isoformat()))
    finally:
        app.conf.task_always_eager = eager
    after_again = made_on(day)
    return figures_of(first, again, before, after_first, after_again)


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def figures_of(first, again, before, after_first, after_again) -> dict:
    (first_seconds, first_value), (again_seconds, _) = first, again
    return {
        "batches": first_value["batches"],
        "run_seconds": round(first_seconds, 2),
        "reminders_created": after_first["reminders"] - before["reminders"],
        "proposals_made": after_first["proposals"] - before["proposals"],
        "repeat_seconds": round(again_seconds, 2),
        "repeat_reminders_created": after_again["reminders"] - after_first["reminders"],
        "repeat_proposals_made": after_again["proposals"] - after_first["proposals"],
    }


def run_on_workers(day: date, workers: int) -> dict:
    from celery.result import AsyncResult

    from creditdesk.celery import app
    from dunning import tasks

    app.control.purge()
    worker = start_worker(workers)
    sampler = RssSampler(worker.pid)
    try:
        wait_for_worker(app, worker)
        sampler.start()
        before = made_on(day)

        def whole_run():
            queued = tasks.run_dunning.delay(day.isoformat())
            # run_dunning ignores its result: wait for it to be consumed, then for its last task
            done = wait_for_run(app, queued.id)
            AsyncResult(done, app=app).get(timeout=1800, disable_sync_subtasks=False)
            return {"batches": batches_of(app, queued.id)}

        cpu = CpuMeter(worker.pid)
        first = timed(whole_run)
        first_cpu = cpu.lap()
        after_first = made_on(day)
        again = timed(whole_run)
        again_cpu = cpu.lap()
        after_again = made_on(day)
    finally:
        sampler.stop()
        stop_worker(worker)
        app.control.purge()  # the deliveries it queued: delivery is not measured here
    figures = figures_of(first, again, before, after_first, after_again)
    figures.update(
        {
            "run_worker_cpu_seconds": first_cpu,
            "repeat_worker_cpu_seconds": again_cpu,
            "cores": os.cpu_count(),
        }
    )
    figures.update(sampler.figures())
    return figures


class CpuMeter:
    """CPU seconds used by the worker (main process and pool children) since the last lap.

    On a shared machine the wall time says as much about the neighbours as about the run; the CPU
    the workers used is the part that does not depend on them. PostgreSQL's share is not counted:
    the workers' connections (one per task, as Celery's Django fixup closes them) and the parallel
    query workers come and go too fast to be read from /proc.
    """

    def __init__(self, worker_pid: int):
        self.worker_pid = worker_pid
        self.last: dict[int, float] = {}

    def lap(self) -> float:
        total = 0.0
        for pid in [self.worker_pid, *children(self.worker_pid)]:
            seconds = cpu_seconds(pid)
            if seconds is not None:
                total += seconds - self.last.get(pid, 0.0)
                self.last[pid] = seconds
        return round(total, 1)


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU of a process, from /proc/<pid>/stat (fields 14 and 15)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


RUN_RESULT_KEY = "bench:dunning:run:{}"


def wait_for_run(app, task_id: str, timeout: float = 600) -> str:
    """The id of the run's last task, as the worker's hook stored it when run_dunning returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = app.backend.get(RUN_RESULT_KEY.format(task_id))
        if value:
            return value.decode().split(",")[1]
        time.sleep(0.05)
    raise TimeoutError("run_dunning was not consumed")


def batches_of(app, task_id: str) -> int:
    return int(app.backend.get(RUN_RESULT_KEY.format(task_id)).decode().split(",")[0])


def start_worker(workers: int) -> subprocess.Popen:
    """A worker on the run's queue with `workers` prefork children; it reports run_dunning's result
    (batches, id of the last task) under RUN_RESULT_KEY through a signal hook (see _worker_hook)."""
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / "bench-dunning-worker.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, str(workers)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "DATABASE_CONN_MAX_AGE": "600"},
    )  # fmt: skip


WORKER_SCRIPT = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditdesk.settings")
import django
django.setup()
from celery.signals import task_success
from creditdesk.celery import app

@task_success.connect
def report_run(sender=None, result=None, **kwargs):
    if sender is not None and sender.name == "dunning.tasks.run_dunning":
        key = "bench:dunning:run:" + sender.request.id
        app.backend.set(key, f"{result['batches']},{result['done']}")

app.worker_main(["worker", "-Q", "celery", "--concurrency", sys.argv[1], "--loglevel", "WARNING",
                 "-n", f"bench-dunning-{os.getpid()}@%h", "--without-gossip", "--without-mingle"])
"""


def wait_for_worker(app, worker: subprocess.Popen, timeout: float = 60) -> None:
    name = f"bench-dunning-{worker.pid}@"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError("the benchmark's Celery worker exited; see var/bench-dunning-worker.log")
        replies = app.control.ping(timeout=0.5) or []
        if any(next(iter(reply)).startswith(name) for reply in replies):
            return
    raise TimeoutError("the benchmark's Celery worker did not answer")


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


class RssSampler:
    """Peak resident memory of a process and of its children, sampled from /proc every 0.1 s."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peaks: dict[int, float] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)

    def sample(self) -> None:
        while not self.stopping.wait(0.1):
            for pid in [self.pid, *children(self.pid)]:
                rss = rss_mb(pid)
                if rss is not None:
                    self.peaks[pid] = max(rss, self.peaks.get(pid, 0.0))

    def figures(self) -> dict:
        pool = [rss for pid, rss in self.peaks.items() if pid != self.pid]
        return {
            "worker_main_peak_rss_mb": round(self.peaks.get(self.pid, 0.0), 1),
            "worker_child_peak_rss_mb": round(max(pool, default=0.0), 1),
            "worker_children_seen": len(pool),
        }


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def rss_mb(pid: int) -> float | None:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20
    except (OSError, IndexError, ValueError):
        return None


if __name__ == "__main__":
    main()
