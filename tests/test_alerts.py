"""Alert sinks (issue 20): a local HTTP server and a local SMTP server (aiosmtpd) on
loopback, deduplication, rate limits, retries with backoff, a sink that fails and then
recovers, dead letters recorded in the audit log, and no personal data in alerts."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import finprivacy as fp
from finprivacy.audit import Alert, BulkReadRule, Monitor
from finprivacy.incidents import (
    AlertDispatcher,
    EmailSink,
    IncidentRegister,
    LoggingSink,
    WebhookSink,
)

T0 = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)


class Hook:
    """A webhook receiver on 127.0.0.1 that fails the first ``fail`` requests."""

    def __init__(self, fail: int = 0) -> None:
        self.fail, self.bodies = fail, []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.fail > 0:
                    hook.fail -= 1
                    self.send_response(503)
                else:
                    hook.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


def _alert(actor: str = "ivan", rule: str = "bulk_read", at: dt.datetime = T0) -> Alert:
    return Alert(rule=rule, actor=actor, time=at, message=f"{actor} read 900 clients",
                 count=900)


def test_webhook_delivery_dedupe_and_rate_limit(hook: Hook) -> None:
    clock = fp.FixedClock(T0)
    d = AlertDispatcher([WebhookSink(hook.url, allow_plain_loopback=True)], clock=clock,
                        rate_limit=2, sleep=lambda s: None)
    assert d(_alert()) == 1
    assert d(_alert()) == 0  # the same rule and actor within 10 minutes
    assert d(_alert(actor="max")) == 1
    assert d(_alert(actor="amy")) == 0  # over the rate limit for the hour
    assert d.suppressed == 2
    clock.advance(dt.timedelta(hours=1, minutes=1))
    assert d(_alert()) == 1
    assert [b["actor"] for b in hook.bodies] == ["ivan", "max", "ivan"]
    assert set(hook.bodies[0]) == {"rule", "actor", "time", "count", "message", "incident"}


def test_a_failing_sink_is_retried_with_backoff_then_dead_lettered_then_recovers(
        hook: Hook) -> None:
    waits: list[float] = []
    log = fp.AuditLog("memory:", clock=fp.FixedClock(T0))
    d = AlertDispatcher([WebhookSink(hook.url, allow_plain_loopback=True)], retries=2,
                        backoff=0.5, sleep=waits.append, audit=log, clock=fp.FixedClock(T0))
    hook.fail = 2
    assert d(_alert()) == 1 and waits == [0.5, 1.0]  # failed twice, third try worked
    hook.fail = 10
    assert d(_alert(actor="max")) == 0
    assert len(d.dead_letters) == 1 and "503" in d.dead_letters[0].error
    assert [e.action for e in log.query()] == ["alert.sent", "alert.dead_letter"]
    hook.fail = 0  # the receiver is back
    assert d.retry_dead_letters() == 1 and d.dead_letters == []
    assert [b["actor"] for b in hook.bodies] == ["ivan", "max"]
    log.close()


def test_email_through_a_local_smtp_server() -> None:
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.handlers import Sink

    received: list[bytes] = []

    class Collect(Sink):
        async def handle_DATA(self, server: object, session: object,
                              envelope: object) -> str:
            received.append(envelope.content)  # type: ignore[attr-defined]
            return "250 OK"

    import socket

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd.Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sink = EmailSink("127.0.0.1", port=port, sender="alerts@books.example",
                         recipients=["sec@books.example"], allow_plain_loopback=True)
        assert AlertDispatcher([sink])(_alert()) == 1
    finally:
        controller.stop()
    assert len(received) == 1 and b"bulk_read" in received[0]
    with pytest.raises(fp.ConfigurationError):
        EmailSink("smtp.example.cn", sender="a@b", recipients=["c@d"],
                  allow_plain_loopback=True)


def test_sinks_refuse_plain_transport_and_alerts_carry_no_values(
        caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(fp.ConfigurationError):
        WebhookSink("http://hooks.example.cn/x")
    with pytest.raises(fp.ConfigurationError):
        WebhookSink("http://10.0.0.5/x", allow_plain_loopback=True)
    assert WebhookSink("https://hooks.example.cn/x").name == "webhook"
    with caplog.at_level(logging.WARNING, logger="finprivacy.alerts"):
        AlertDispatcher([LoggingSink()])(_alert())
    assert "bulk_read" in caplog.text and "ivan" in caplog.text


def test_monitor_alerts_open_incidents_and_reach_the_sink(hook: Hook) -> None:
    reg = IncidentRegister()
    d = AlertDispatcher([WebhookSink(hook.url, allow_plain_loopback=True)])

    def on_alert(alert: Alert) -> None:
        inc = reg.open_from_alert(alert, rules={"bulk_read"})
        d(alert, incident_id=inc.id if inc else "")

    monitor = Monitor([BulkReadRule(max_subjects=2, window=dt.timedelta(hours=1))],
                      on_alert=on_alert)
    for n in range(3):
        monitor.observe(fp.AuditEvent(action="read", actor="ivan", subject=f"c-{n}",
                                      decision="allowed"), T0 + n * dt.timedelta(seconds=5))
    (inc,) = reg.incidents()
    assert hook.bodies[0]["incident"] == inc.id
    assert "c-0" not in json.dumps(hook.bodies)  # subjects' ids are not in the alert
