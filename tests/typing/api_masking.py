"""The masking, detection, identifier and logging API as users write it (mypy --strict)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import MutableMapping
from typing import Any

import pydantic

import finprivacy as fp
from finprivacy.identifiers import bank_card, cn_id, cn_phone, iban
from finprivacy.logging import RedactingFilter, RedactingProcessor
from finprivacy.masking import (
    DEFAULT_PRESETS,
    PRESETS,
    Finding,
    Preset,
    kind_for_field,
    mask_field,
    redact_json,
    unmask_ff1,
)

clock = fp.FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

number: str = cn_id.validate("11010519491231002X", clock=clock)
ok: bool = bank_card.is_valid("6222 0202 0011 2233 446")
network: str | None = bank_card.issuer("4111111111111111")
paper: str = iban.format("GB82WEST12345698765432")
mobile: bool = cn_phone.is_mobile("13812345678")
try:
    cn_id.validate("110105194912310021")
except fp.InvalidIdentifierError as exc:
    failed_kind: str = exc.kind

findings: list[Finding] = fp.scan("卡号6222020200112233446", kinds=["bank_card"],
                                  min_confidence=0.6, clock=clock)
for f in findings:
    span: tuple[int, int] = (f.start, f.end)
    kind: str = f.kind
    confidence: float = f.confidence
    value: str = f.value.reveal()
    context: str = f.context
spans: list[Finding] = list(bank_card.find("card 4111111111111111"))

shown: str = fp.mask("6222020200112233446", kind="bank_card", preset="last4")
also: str = fp.mask(fp.Secret("13812345678"), "cn_phone")
token: str = fp.mask("6222020200112233446", "bank_card", "pseudonym", pseudonym_key=b"k" * 32)
ff1: str = fp.mask("6222020200112233446", "bank_card", "ff1", ff1_key=b"k" * 16)
back: str = unmask_ff1(ff1, "bank_card", ff1_key=b"k" * 16)
preset: Preset = PRESETS["bank_card"][DEFAULT_PRESETS["bank_card"]]
source: str = preset.source

text: str = fp.redact("手机13812345678", presets={"cn_phone": "last4"})
record: dict[str, Any] = fp.redact({"card_no": "4111111111111111"})
rows: list[dict[str, str]] = fp.redact([{"phone": "13812345678"}])
doc: str = redact_json('{"id_number": "11010519491231002X"}')
field_kind: str | None = kind_for_field("payer_card_no", keys={"kundennr": "cn_bank_account"})
masked_field: object = mask_field("card_no", "4111111111111111")


class Customer(pydantic.BaseModel):
    name: str
    card_no: str


customer: Customer = fp.redact(Customer(name="张三", card_no="4111111111111111"))

handler = logging.StreamHandler()
handler.addFilter(RedactingFilter(presets={"bank_card": "last4"}))
processor = RedactingProcessor(kinds=["bank_card", "cn_id"])
event: MutableMapping[str, Any] = processor(None, "info", {"event": "paid"})
