"""Run the scale benchmarks. Prints figures, asserts nothing.

`python -m bench` (`make bench`): every target of issue 10 on both ledgers, built or reused, as one table
and JSON (bench/run.py). `python -m bench name ...` runs single modules' `main()` on DATABASE_URL as it
is (api, dunning, reports, seed): for a closer look at one figure.
"""

import importlib
import os
import pkgutil
import secrets
import sys
import time
from pathlib import Path


def benchmark_names() -> list[str]:
    here = Path(__file__).parent
    modules = (m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    return sorted(name for name in modules if name not in PIPELINE_MODULES)


# Parts of the `make bench` pipeline, not benchmarks of their own (the locustfile is Locust's to import).
PIPELINE_MODULES = {"run", "ledgers", "servers", "pages", "load", "locustfile"}


def main(argv: list[str]) -> int:
    # The settings refuse to run with DEBUG off and no real key: a throwaway one for this run and the
    # processes it starts (gunicorn, the Celery worker and the pass inherit it).
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    if not argv:
        from bench import run

        return run.main()
    names = argv
    unknown = set(names) - set(benchmark_names())
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(benchmark_names())}")
        return 2
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "main"):
            continue
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        module.main()
        print(f"({name}: {time.perf_counter() - started:.1f} s in all)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
