"""Alerts that reach people: sinks, deduplication, rate limits, retries, dead letters.

:class:`AlertDispatcher` is a monitor callback (``Monitor(rules, on_alert=dispatcher)``)
that hands each alert to its sinks — :class:`LoggingSink`, :class:`WebhookSink` (HTTP
POST over a strict TLS context), :class:`EmailSink` (SMTP with TLS) — once per
(rule, actor) within the deduplication window, at most ``rate_limit`` per sink per
window, retrying with exponential backoff; an alert a sink could not take lands in
:attr:`AlertDispatcher.dead_letters` and in the audit sink, and
:meth:`AlertDispatcher.retry_dead_letters` sends it once the sink is back.

An alert carries the rule, the actor, the time, the count and the monitor's message —
ids and counts, never personal data values.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import ipaddress
import json
import logging
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from typing import Any, Protocol

from ..audit.events import AuditEvent, AuditSink
from ..clock import Clock, SystemClock
from ..errors import ConfigurationError, InvalidInputError
from ..tls import client_context, smtp_connect

__all__ = [
    "AlertDispatcher",
    "AlertSink",
    "DeadLetter",
    "EmailSink",
    "LoggingSink",
    "WebhookSink",
    "alert_payload",
]


def alert_payload(alert: Any, incident_id: str = "") -> dict[str, object]:
    """Return what a sink sends for ``alert``: ids, counts and the monitor's message."""
    when = getattr(alert, "time", None)
    return {"rule": str(getattr(alert, "rule", "")), "actor": str(getattr(alert, "actor", "")),
            "time": when.isoformat() if isinstance(when, _dt.datetime) else None,
            "count": int(getattr(alert, "count", 0) or 0),
            "message": str(getattr(alert, "message", "")), "incident": incident_id}


class AlertSink(Protocol):
    """Somewhere alerts go. ``send`` raises when the alert did not get there."""

    name: str

    def send(self, payload: Mapping[str, object]) -> None:
        """Deliver one alert payload (see :func:`alert_payload`)."""
        ...


class LoggingSink:
    """Alerts as ``WARNING`` records on a logger (default ``finprivacy.alerts``)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.name = "logging"
        self._log = logger or logging.getLogger("finprivacy.alerts")

    def send(self, payload: Mapping[str, object]) -> None:
        """Log the alert."""
        self._log.warning("alert %s actor=%s count=%s: %s", payload["rule"], payload["actor"],
                          payload["count"], payload["message"])


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookSink:
    """POST each alert as JSON to ``url`` over TLS verified by ``context``.

    ``https`` only, except to a loopback address with ``allow_plain_loopback=True``
    (a local relay, tests). A non-2xx answer or a network error is a failure.
    """

    def __init__(self, url: str, *, context: ssl.SSLContext | None = None,
                 headers: Mapping[str, str] | None = None, timeout: float = 10.0,
                 allow_plain_loopback: bool = False, name: str = "webhook") -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https" and not (
                parts.scheme == "http" and allow_plain_loopback
                and _loopback(parts.hostname or "")):
            raise ConfigurationError("a webhook URL must be https:// (plain http only to a "
                                     "loopback address, with allow_plain_loopback=True)")
        self.name = name
        self._url = url
        self._context = context if context is not None or parts.scheme == "http" else (
            client_context())
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._timeout = timeout

    def send(self, payload: Mapping[str, object]) -> None:
        """POST the payload; raise ``OSError`` unless the answer is 2xx."""
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self._url, data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout,  # noqa: S310 - checked
                                        context=self._context) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            raise OSError(f"webhook answered {exc.code}") from None
        if not 200 <= status < 300:
            raise OSError(f"webhook answered {status}")


class EmailSink:
    """Mail each alert to ``recipients`` through an SMTP server over TLS.

    Port 465 (implicit TLS) by default, or ``starttls=True`` on 587. A plain connection
    is allowed only to a loopback relay with ``allow_plain_loopback=True``.
    """

    def __init__(self, host: str, *, sender: str, recipients: Sequence[str], port: int = 465,
                 starttls: bool = False, context: ssl.SSLContext | None = None,
                 username: str | None = None, password: str | None = None,
                 allow_plain_loopback: bool = False, timeout: float = 30.0,
                 name: str = "email") -> None:
        if not recipients:
            raise InvalidInputError("an e-mail sink needs recipients")
        self.name = name
        self._host, self._port, self._starttls = host, port, starttls
        self._plain = allow_plain_loopback and _loopback(host)
        if allow_plain_loopback and not self._plain:
            raise ConfigurationError("plain SMTP is allowed only to a loopback relay")
        self._context = context
        self._sender, self._recipients = sender, list(recipients)
        self._login = (username, password) if username else None
        self._timeout = timeout

    def send(self, payload: Mapping[str, object]) -> None:
        """Send one message; raise on any SMTP or network failure."""
        import smtplib

        msg = EmailMessage()
        msg["Subject"] = f"[finprivacy alert] {payload['rule']} ({payload['actor']})"
        msg["From"] = self._sender
        msg["To"] = ", ".join(self._recipients)
        msg.set_content(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True))
        if self._plain:
            conn: Any = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        else:
            conn = smtp_connect(self._host, self._port, context=self._context,
                                starttls=self._starttls, timeout=self._timeout)
        with conn:
            if self._login is not None:
                conn.login(*self._login)
            conn.send_message(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class DeadLetter:
    """An alert a sink could not take after every retry."""

    sink: str
    payload: Mapping[str, object]
    error: str
    """The failure's type and short text (never a payload value)."""
    at: _dt.datetime


class AlertDispatcher:
    """Fan alerts out to sinks with deduplication, rate limits, retries and dead letters.

    ``dedupe`` drops a repeat of the same (rule, actor) within the window;
    ``rate_limit`` caps deliveries per sink per ``rate_window``; each delivery is
    tried ``1 + retries`` times, waiting ``backoff * 2**n`` seconds between tries
    (``sleep`` is injectable for tests). ``audit`` records each dead letter
    (``alert.dead_letter``) and each delivery (``alert.sent``).
    """

    def __init__(self, sinks: Sequence[AlertSink], *,
                 dedupe: _dt.timedelta = _dt.timedelta(minutes=10),
                 rate_limit: int = 20, rate_window: _dt.timedelta = _dt.timedelta(hours=1),
                 retries: int = 3, backoff: float = 1.0, audit: AuditSink | None = None,
                 clock: Clock | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not sinks:
            raise ConfigurationError("an alert dispatcher needs at least one sink")
        if retries < 0 or rate_limit < 1:
            raise ConfigurationError("retries must be ≥ 0 and rate_limit ≥ 1")
        self._sinks = list(sinks)
        self._dedupe, self._rate_limit, self._rate_window = dedupe, rate_limit, rate_window
        self._retries, self._backoff = retries, backoff
        self._audit, self._clock, self._sleep = audit, clock or SystemClock(), sleep
        self._seen: dict[tuple[str, str], _dt.datetime] = {}
        self._sent: dict[str, deque[_dt.datetime]] = {s.name: deque() for s in self._sinks}
        self._lock = threading.Lock()
        self.dead_letters: list[DeadLetter] = []
        """Alerts waiting for :meth:`retry_dead_letters`."""
        self.suppressed = 0
        """Alerts dropped as duplicates or over the rate limit."""

    def __call__(self, alert: Any, incident_id: str = "") -> int:
        """Dispatch one alert; return to how many sinks it was delivered."""
        payload = alert_payload(alert, incident_id)
        now = self._clock.now()
        key = (str(payload["rule"]), str(payload["actor"]))
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last < self._dedupe:
                self.suppressed += 1
                return 0
            self._seen[key] = now
        return sum(self._deliver(sink, payload, now) for sink in self._sinks)

    def _deliver(self, sink: AlertSink, payload: Mapping[str, object],
                 now: _dt.datetime) -> bool:
        with self._lock:
            window = self._sent[sink.name]
            while window and now - window[0] >= self._rate_window:
                window.popleft()
            if len(window) >= self._rate_limit:
                self.suppressed += 1
                return False
            window.append(now)
        error = ""
        for attempt in range(self._retries + 1):
            try:
                sink.send(payload)
            except Exception as exc:
                error = f"{type(exc).__name__}: {str(exc)[:120]}"
                if attempt < self._retries:
                    self._sleep(self._backoff * 2 ** attempt)
                continue
            self._record("alert.sent", sink.name, payload, "")
            return True
        letter = DeadLetter(sink.name, dict(payload), error, now)
        with self._lock:
            self.dead_letters.append(letter)
        self._record("alert.dead_letter", sink.name, payload, error)
        return False

    def _record(self, action: str, sink: str, payload: Mapping[str, object],
                error: str) -> None:
        if self._audit is None:
            return
        details = {"sink": sink, "rule": str(payload["rule"]),
                   "incident": str(payload["incident"])}
        if error:
            details["error"] = error
        self._audit.record(AuditEvent(action=action, actor="finprivacy.alerts",
                                      subject="", decision="alert" if error else "info",
                                      time=self._clock.now(), details=details))

    def retry_dead_letters(self) -> int:
        """Try every dead letter again (once per sink); return how many got through."""
        with self._lock:
            letters, self.dead_letters = self.dead_letters, []
        sinks = {s.name: s for s in self._sinks}
        done = 0
        for letter in letters:
            sink = sinks.get(letter.sink)
            try:
                if sink is None:
                    raise ConfigurationError(f"no sink named {letter.sink!r}")
                sink.send(letter.payload)
            except Exception as exc:
                with self._lock:
                    self.dead_letters.append(dataclasses.replace(
                        letter, error=f"{type(exc).__name__}: {str(exc)[:120]}"))
                continue
            self._record("alert.sent", letter.sink, letter.payload, "")
            done += 1
        return done
