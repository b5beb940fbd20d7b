"""Response deadlines for data-subject requests, computed in a named time zone."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import zoneinfo

from ..clock import add_months, utc
from ..errors import ConfigurationError, InvalidTimeError

__all__ = ["CCPA", "GDPR", "PIPL", "DeadlinePolicy", "add_months"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeadlinePolicy:
    """How long a firm has to answer a request, and how far it may extend.

    A period is ``months`` calendar months plus ``days`` days, counted from the day
    after receipt in ``zone`` and ending at the end of the last day (local time).
    """

    name: str
    """A short name (``"GDPR"``, ``"PIPL"``)."""
    source: str
    """The provision the periods come from."""
    months: int = 0
    """Calendar months of the initial period."""
    days: int = 0
    """Days of the initial period (added after the months)."""
    extension_months: int = 0
    """Calendar months an extension may add (0: no extension allowed)."""
    extension_days: int = 0
    """Days an extension may add."""

    def __post_init__(self) -> None:
        if not self.name or not self.source:
            raise ConfigurationError("a deadline policy needs a name and a source citation")
        if min(self.months, self.days, self.extension_months, self.extension_days) < 0:
            raise ConfigurationError(f"deadline policy {self.name!r}: periods must be >= 0")
        if self.months == 0 and self.days == 0:
            raise ConfigurationError(f"deadline policy {self.name!r}: the period is empty")

    @property
    def extendable(self) -> bool:
        """True when the policy allows an extension."""
        return bool(self.extension_months or self.extension_days)

    def due(self, received_at: _dt.datetime, zone: str, *, extended: bool = False) -> _dt.datetime:
        """Return the last instant (UTC) of the response period for a request.

        ``received_at`` must be aware; the calendar is read in the IANA ``zone``.
        """
        received = utc(received_at, "received_at")
        try:
            tz = zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidTimeError(f"unknown IANA time zone {zone!r}") from None
        local_day = received.astimezone(tz).date()
        last = add_months(local_day, self.months) + _dt.timedelta(days=self.days)
        if extended:
            if not self.extendable:
                raise ConfigurationError(f"{self.name} does not allow extending the deadline")
            last = add_months(last, self.extension_months) + _dt.timedelta(
                days=self.extension_days)
        end = _dt.datetime.combine(last + _dt.timedelta(days=1), _dt.time(), tzinfo=tz)
        return (end - _dt.timedelta(microseconds=1)).astimezone(_dt.UTC)


GDPR = DeadlinePolicy(
    name="GDPR", months=1, extension_months=2,
    source="GDPR Art. 12(3): without undue delay and in any event within one month of "
           "receipt, extendable by two further months where necessary; periods read "
           "under Regulation (EEC, Euratom) No 1182/71.",
)
"""One month, extendable by two further months (GDPR Art. 12(3))."""

PIPL = DeadlinePolicy(
    name="PIPL", days=30,
    source="PIPL Art. 50 (个人信息保护法第五十条) requires a prompt (及时) response; "
           "GB/T 35273-2020 信息安全技术 个人信息安全规范 §8.7 sets the ceiling: answer "
           "within 30 days or the period set by laws and regulations.",
)
"""30 days (PIPL Art. 50 with GB/T 35273-2020 §8.7); answer sooner where you can."""

CCPA = DeadlinePolicy(
    name="CCPA", days=45, extension_days=45,
    source="Cal. Civ. Code §1798.130(a)(2): within 45 days of receipt, extendable once "
           "by an additional 45 days when reasonably necessary.",
)
"""45 days, extendable once by 45 days (CCPA §1798.130(a)(2))."""
