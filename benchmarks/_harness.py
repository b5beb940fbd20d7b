"""Tiny timing helpers shared by the benchmark modules.

Every figure is printed beside a baseline measured in the same run, as a ratio, so
the numbers mean something on any machine. Timings use the best of several repeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Timer", "heading", "per_call", "report", "report_rate"]


def per_call(fn: Callable[[], object], *, number: int = 2000, repeat: int = 5) -> float:
    """Best seconds per call of ``fn`` over ``repeat`` runs of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


class Timer:
    """Context manager measuring wall time: ``with Timer() as t: ...; t.seconds``."""

    seconds: float = 0.0

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def heading(title: str) -> None:
    """Print a section heading."""
    print(f"\n== {title} ==")


def report(name: str, seconds: float, baseline: float | None = None, *,
           baseline_name: str = "baseline", target: float | None = None) -> None:
    """Print one per-call figure, with its ratio to ``baseline`` and the target if any."""
    line = f"{name:<58} {seconds * 1e6:10.2f} µs"
    if baseline:
        ratio = seconds / baseline
        line += f"   {ratio:7.2f}x {baseline_name}"
        if target is not None:
            line += f"  (target ≤ {target}x: {'ok' if ratio <= target else 'MISSED'})"
    print(line)


def report_rate(name: str, count: int, seconds: float, *, target: float | None = None) -> None:
    """Print a throughput figure (items per second), with its target if any."""
    rate = count / seconds if seconds else float("inf")
    line = f"{name:<58} {rate:12,.0f} /s"
    if target is not None:
        line += f"  (target ≥ {target:,.0f}/s: {'ok' if rate >= target else 'MISSED'})"
    print(line)
