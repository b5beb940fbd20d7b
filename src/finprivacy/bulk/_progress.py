"""Progress of a running job, for progress bars: rows done, rows per second, time left."""

from __future__ import annotations

import dataclasses
import time

__all__ = ["Progress", "ProgressCounter"]


@dataclasses.dataclass(frozen=True, slots=True)
class Progress:
    """How far a job has got; passed to a job's ``progress`` callback after each batch."""

    rows: int
    """Rows processed so far in this run (rows an earlier run did are not counted)."""
    total: int | None
    """Rows this run expects to process, when the inputs say (Parquet metadata, a
    table's row count); ``None`` for CSV, whose rows are known only once read."""
    seconds: float
    """Time since the run started."""

    @property
    def rate(self) -> float:
        """Rows per second so far."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, or ``None`` when it cannot be told."""
        if self.total is None or self.rows == 0:
            return None
        return max(0.0, (self.total - self.rows) / self.rate)

    def line(self) -> str:
        """One line for a terminal: ``rows 120,000/1,000,000  85,310 rows/s  ETA 0:00:10``."""
        done = f"{self.rows:,}" if self.total is None else f"{self.rows:,}/{self.total:,}"
        text = f"rows {done}  {self.rate:,.0f} rows/s"
        eta = self.eta
        if eta is not None:
            whole = round(eta)
            text += f"  ETA {whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
        return text


class ProgressCounter:
    """Adds rows up and hands a :class:`Progress` to a callback (internal helper)."""

    __slots__ = ("_callback", "_rows", "_start", "_total")

    def __init__(self, callback: object, total: int | None) -> None:
        self._callback = callback
        self._total = total
        self._rows = 0
        self._start = time.monotonic()

    @property
    def rows(self) -> int:
        """Rows counted so far."""
        return self._rows

    def add(self, rows: int) -> None:
        """Count ``rows`` more and report."""
        self._rows += rows
        if callable(self._callback):
            self._callback(Progress(self._rows, self._total, time.monotonic() - self._start))
