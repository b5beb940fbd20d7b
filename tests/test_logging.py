"""finprivacy.logging: the redacting filter and the structlog-shaped processor."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from finprivacy.logging import RedactingFilter, RedactingProcessor

CARD = "6222020200112233446"
ID18 = "11010519491231002X"


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("finprivacy.tests.logging")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, buf
    finally:
        logger.removeHandler(handler)


def test_message_and_args_are_redacted(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buf = capture
    logger.info("paid card %s from phone %d", CARD, 13812345678)
    assert buf.getvalue() == "INFO paid card 622202*********3446 from phone 138****5678\n"


def test_mapping_args_and_extras(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buf = capture
    logger.handlers[0].setFormatter(logging.Formatter("%(message)s|%(card_no)s|%(note)s"))
    logger.warning("id %(id)s", {"id": ID18}, extra={"card_no": CARD, "note": f"卡号{CARD}"})
    assert buf.getvalue() == ("id 110***********002X|622202*********3446|"
                              "卡号622202*********3446\n")


def test_exception_text_is_redacted(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buf = capture
    try:
        raise ValueError(f"customer {ID18} rejected")
    except ValueError:
        logger.exception("lookup failed for 13812345678")
    out = buf.getvalue()
    assert ID18 not in out and "13812345678" not in out
    assert "110***********002X" in out and "Traceback" in out


def test_broken_format_string_still_redacted(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buf = capture
    logger.error("two %s %s", CARD)
    assert CARD not in buf.getvalue()


def test_filter_name_restriction_and_options() -> None:
    f = RedactingFilter("other", presets={"bank_card": "last4"})
    record = logging.LogRecord("finprivacy.x", logging.INFO, __file__, 1, CARD, None, None)
    assert f.filter(record) is False
    g = RedactingFilter(presets={"bank_card": "last4"})
    assert g.filter(record) is True and record.getMessage() == "***************3446"


def test_structlog_processor() -> None:
    proc = RedactingProcessor()
    event = {"event": f"paid {CARD}", "id_number": "110105194912310021", "count": 3}
    out = proc(None, "info", event)
    assert out is event
    assert out == {"event": "paid 622202*********3446", "id_number": "110***********0021",
                   "count": 3}
    assert "6222" not in repr(proc)
