"""How long `seed_demo` takes for N customers on a throwaway SQLite database (default 500).

Runs `manage.py migrate` and `manage.py seed_demo` in a child process with its own var directory and
no DATABASE_URL, so the database the other benchmarks use is left alone. Set BENCH_SEED_CUSTOMERS
to change N. Prints the time and rows per second; asserts nothing.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    customers = int(os.environ.get("BENCH_SEED_CUSTOMERS", "500"))
    with tempfile.TemporaryDirectory(prefix="creditdesk-bench-seed-") as var_dir:
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
        env["CREDITDESK_VAR_DIR"] = var_dir
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
        started = time.perf_counter()
        done = subprocess.run(
            [*manage, "seed_demo", f"--customers={customers}", "--seed=1", "--today=2026-11-23", "-v1"],
            env=env, check=True, cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    counts = {
        label: int(count.replace(",", ""))
        for label, count in re.findall(r"^\s+(\S+)\s+([\d,]+)$", done.stdout, re.M)
    }
    rows = sum(counts.values())
    invoices = counts.get("invoices.Invoice", 0)
    print(f"seed_demo --customers {customers} on SQLite: {elapsed:.1f} s")
    print(f"  {invoices:,} invoices, {rows:,} rows in all: {rows / elapsed:,.0f} rows/s")
    for label, count in sorted(counts.items()):
        print(f"  {label:<28} {count:>10,}")


if __name__ == "__main__":
    main()
