"""Run every ``benchmarks/bench_*.py`` module: ``python -m benchmarks [--quick] [names…]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import platform
import sys

import benchmarks


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("only", nargs="*", help="run only these modules (e.g. crypto masking)")
    args = parser.parse_args()
    print(f"finprivacy benchmarks on Python {platform.python_version()} ({platform.machine()})")
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    for name in names:
        if args.only and name.removeprefix("bench_") not in args.only:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        module.main(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
