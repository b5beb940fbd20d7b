"""The core public API as users write it; checked by mypy --strict, never run."""

from __future__ import annotations

import datetime as dt

import finprivacy as fp


def core_usage() -> None:
    secret: fp.Secret[str] = fp.Secret("6222020200112233445")
    value: str = secret.reveal()
    same: bool = secret == fp.Secret(value)
    clock: fp.Clock = fp.FixedClock(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    now: dt.datetime = clock.now()
    system: fp.Clock = fp.SystemClock()
    try:
        raise fp.ConsentRequiredError("no consent", subject="c1", purpose="p", reason="withdrawn")
    except fp.FinPrivacyError as exc:
        message: str = str(exc)
    print(same, now, system, message)
