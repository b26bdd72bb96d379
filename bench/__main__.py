"""Run the scale benchmarks: `python -m bench [name ...]` (default: all). Prints figures, asserts nothing.

Each module in this package with a `main()` is one benchmark. Most want PostgreSQL with the large
demo ledger: DATABASE_URL=postgres://.../cd_big after `manage.py seed_demo --customers 20000`.
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
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    # The settings refuse to run with DEBUG off and no real key: a throwaway one for this run and the
    # processes it starts (the UI benchmark's server signs the sessions made here with it).
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    names = argv or benchmark_names()
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
