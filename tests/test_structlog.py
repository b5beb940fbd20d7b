"""structlog: the redacting processor in a real pipeline, and LeakGuard seeing
structlog events (issue 17)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

structlog = pytest.importorskip("structlog")

from finprivacy.logging import RedactingProcessor  # noqa: E402
from finprivacy.testing import LeakGuard, PIILeakError  # noqa: E402

CARD = "6222020200112233446"
ID_NO = "11010519491231002X"


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    yield buf
    structlog.reset_defaults()


def _configure(buf: io.StringIO, *, redact: bool) -> None:
    processors = [structlog.processors.add_log_level,
                  structlog.processors.format_exc_info]
    if redact:
        processors.append(RedactingProcessor())
    structlog.configure(processors=[*processors, structlog.processors.JSONRenderer()],
                        logger_factory=structlog.PrintLoggerFactory(file=buf),
                        cache_logger_on_first_use=False)


def test_the_processor_redacts_a_real_pipeline(out: io.StringIO) -> None:
    _configure(out, redact=True)
    log = structlog.get_logger("bookkeeping")
    log.info("client paid", card=CARD, note=f"身份证{ID_NO}", amount=1280.5,
             client={"id_number": ID_NO, "name": "欧阳娜娜"})
    try:
        raise ValueError(f"card {CARD} declined")
    except ValueError:
        log.exception("payment failed")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    text = out.getvalue()
    assert CARD not in text and ID_NO not in text
    assert lines[0]["card"] == "622202*********3446"
    assert lines[0]["amount"] == 1280.5 and lines[0]["event"] == "client paid"
    assert "declined" in lines[1]["exception"]


def test_leak_guard_catches_structlog_events(out: io.StringIO) -> None:
    _configure(out, redact=False)
    before = structlog.get_config()["processors"]
    log = structlog.get_logger("bookkeeping")
    with pytest.raises(PIILeakError, match="bank_card"), LeakGuard():
        log.info("client paid", card=CARD)
    assert structlog.get_config()["processors"] == before  # the chain is restored
    with LeakGuard():
        log.info("client paid", invoice="INV-7")


def test_leak_guard_sees_what_the_renderer_gets(out: io.StringIO) -> None:
    _configure(out, redact=True)  # redacted before the renderer: nothing leaks
    with LeakGuard() as guard:
        structlog.get_logger("bookkeeping").info("client paid", card=CARD)
    assert guard._events and CARD not in repr(guard._events)
    with pytest.raises(PIILeakError), LeakGuard(secrets=["INV-SECRET-7"]):
        structlog.get_logger("bookkeeping").info("paid", ref="INV-SECRET-7")
