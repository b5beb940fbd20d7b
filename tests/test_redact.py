"""fp.redact: text, dicts, lists, JSON, pydantic models, dataclasses; idempotence."""

from __future__ import annotations

import dataclasses
import json
import random

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.identifiers._checksums import gb11643_check, luhn_valid
from finprivacy.masking import FIELD_KINDS, kind_for_field, mask_field, redact_json

CARD = "6222020200112233446"
ID18 = "11010519491231002X"


def test_text_in_place() -> None:
    text = f"客户张伟，身份证{ID18}，卡号{CARD}，手机13812345678，邮箱zhang.wei@example.com。"
    out = fp.redact(text)
    assert out == ("客户张伟，身份证110***********002X，卡号622202*********3446，"
                   "手机138****5678，邮箱z***@example.com。")
    for secret in (ID18, CARD, "13812345678", "zhang.wei"):
        assert secret not in out


def test_presets_per_kind_and_unknown_preset() -> None:
    out = fp.redact(f"card {CARD}", presets={"bank_card": "last4"})
    assert out == "card ***************3446"
    with pytest.raises(fp.ConfigurationError):
        fp.redact("x", presets={"bank_card": "nope"})


def test_dict_by_key_names_and_values() -> None:
    record = {
        "id_number": "110105194912310021",  # wrong check digit: masked anyway by its key
        "身份证号": ID18,
        "card_no": "4111 1111 1111 1111",
        "phone": 13812345678,
        "姓名": "欧阳娜娜",
        "address": "北京市朝阳区建国路88号",
        "memo": f"refund to {CARD}",
        "amount": 1234.5,
        "tags": ["vip", "手机13812345678"],
        "nested": {"payer_card_no": "4111111111111111", "ok": True},
    }
    out = fp.redact(record)
    assert out["id_number"] == "110***********0021"
    assert out["身份证号"] == "110***********002X"
    assert out["card_no"] == "4111 11** **** 1111"
    assert out["phone"] == "138****5678"
    assert out["姓名"] == "欧阳**"
    assert out["address"] == "北京市朝阳区****"
    assert out["memo"] == "refund to 622202*********3446"
    assert out["amount"] == 1234.5
    assert out["tags"] == ["vip", "手机138****5678"]
    assert out["nested"] == {"payer_card_no": "411111******1111", "ok": True}
    assert record["card_no"] == "4111 1111 1111 1111"  # the input is not changed


def test_custom_keys() -> None:
    out = fp.redact({"kundennummer": "12345678"}, keys={"kundennummer": "cn_bank_account"})
    assert out == {"kundennummer": "******78"}
    with pytest.raises(fp.ConfigurationError):
        fp.redact({}, keys={"x": "nope"})


def test_json_document() -> None:
    doc = json.dumps({"card_no": CARD, "note": "手机13812345678", "n": [1, 2]},
                     ensure_ascii=False)
    out = json.loads(redact_json(doc))
    assert out == {"card_no": "622202*********3446", "note": "手机138****5678", "n": [1, 2]}
    with pytest.raises(fp.FormatError) as info:
        redact_json('{"card_no": "6222020200112233446"')
    assert CARD not in str(info.value)


class Customer(pydantic.BaseModel):
    name: str
    id_number: str
    card_no: str
    note: str = ""
    secret: fp.Secret[str] | None = None

    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)


class Order(pydantic.BaseModel):
    customer: Customer
    amount: float


def test_pydantic_models_duck_typed() -> None:
    order = Order(customer=Customer(name="张三丰", id_number=ID18, card_no=CARD,
                                    note="备用手机13812345678", secret=fp.Secret("x")),
                  amount=12.5)
    out = fp.redact(order)
    assert isinstance(out, Order) and isinstance(out.customer, Customer)
    assert out.customer.name == "张**"
    assert out.customer.id_number == "110***********002X"
    assert out.customer.card_no == "622202*********3446"
    assert out.customer.note == "备用手机138****5678"
    assert out.customer.secret is order.customer.secret
    assert out.amount == 12.5
    assert order.customer.card_no == CARD


@dataclasses.dataclass(frozen=True)
class Payee:
    account_no: str
    memo: str


def test_dataclasses() -> None:
    out = fp.redact(Payee("755912345610801", "tel 13812345678"))
    assert out == Payee("***********0801", "tel 138****5678")


def test_mask_field_and_kind_for_field() -> None:
    assert kind_for_field("Card-No") == "bank_card"
    assert kind_for_field("payer_id_number") == "cn_id"
    assert kind_for_field("联系电话") == "phone"
    assert kind_for_field("username") is None
    assert kind_for_field("filename") is None
    assert mask_field("card_no", CARD) == "622202*********3446"
    assert mask_field("memo", "call 13812345678") == "call 138****5678"
    assert mask_field("amount", 12) == 12
    assert mask_field("mobile", "+44 20 7946 0958") == "+44 ** **** 0958"
    assert all(k == k.lower() for k in FIELD_KINDS)
    with pytest.raises(fp.ConfigurationError):
        mask_field("x", "y", colour="red")


# ---------------------------------------------------------------- properties

def _card(rng: random.Random) -> str:
    body = "62" + "".join(rng.choice("0123456789") for _ in range(16))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def _cn_id(rng: random.Random) -> str:
    body = "440305" + f"{rng.randrange(1950, 2005)}0{rng.randrange(1, 10)}1{rng.randrange(10)}" \
        + "".join(rng.choice("0123456789") for _ in range(3))
    return body + gb11643_check(body)


pieces = st.one_of(
    st.text(alphabet=st.sampled_from(list("卡号手机身份证账号 ，。:-0123456789abc")), max_size=8),
    st.randoms().map(_card), st.randoms().map(_cn_id),
    st.sampled_from(["13812345678", "+86 139 0000 1111", "zhang.wei@example.com",
                     "GB82 WEST 1234 5698 7654 32", "536-90-4399", "E12345678",
                     "91110000600037341L", "账号755912345610801", "+44 20 7946 0958"]),
)


@given(st.lists(pieces, max_size=8).map("".join))
def test_redact_is_idempotent_and_leaves_no_finding(text: str) -> None:
    once = fp.redact(text)
    assert fp.redact(once) == once
    assert fp.scan(once) == []


@given(st.text(max_size=200))
def test_redact_idempotent_on_arbitrary_text(text: str) -> None:
    once = fp.redact(text)
    assert fp.redact(once) == once
    assert fp.scan(once) == []


def test_no_plaintext_in_errors_reprs_logs_or_pickles() -> None:
    import io
    import logging
    import pickle

    from finprivacy.identifiers import bank_card, cn_id
    from finprivacy.logging import RedactingFilter
    from finprivacy.masking import PRESETS

    secrets_ = [CARD, ID18, "13812345678", "536904399"]
    seen: list[str] = []
    for bad in ("6222020200112233447", "110105194912310021"):
        for module in (bank_card, cn_id):
            try:
                module.validate(bad)
            except fp.InvalidIdentifierError as exc:
                seen += [str(exc), repr(exc)]
    for call in (lambda: fp.mask(CARD, "nope"), lambda: fp.mask(CARD, "bank_card", "nope"),
                 lambda: fp.mask(CARD, "bank_card", "pseudonym"),
                 lambda: redact_json("{" + CARD), lambda: fp.scan(CARD, kinds=["x"])):
        try:
            call()
        except fp.FinPrivacyError as exc:
            seen += [str(exc), repr(exc)]
    findings = fp.scan(f"卡号{CARD} 身份证{ID18} 手机13812345678 SSN 536-90-4399")
    assert len(findings) == 4
    seen += [repr(findings), str(findings), repr(PRESETS["bank_card"])]
    for f in findings:
        with pytest.raises(TypeError):
            pickle.dumps(f)
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("finprivacy.tests.leaks")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("card %s id %s", CARD, ID18, extra={"phone": "13812345678"})
        try:
            raise ValueError(f"SSN 536-90-4399 and {CARD}")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    seen.append(buf.getvalue())
    blob = "\n".join(seen)
    assert len(blob) > 200
    for secret in secrets_:
        assert secret not in blob
        assert secret not in blob.replace("-", "").replace(" ", "")


def test_named_tuples_and_sets() -> None:
    from typing import NamedTuple

    class Row(NamedTuple):
        card_no: str
        memo: str

    out = fp.redact(Row("4111111111111111", "tel 13812345678"))
    assert isinstance(out, Row)
    assert out == Row("411111******1111", "tel 138****5678")
    assert fp.redact({"13812345678", "ok"}) == {"138****5678", "ok"}
    assert fp.redact(frozenset({f"卡号{CARD}"})) == frozenset({"卡号622202*********3446"})
    assert fp.redact((CARD, 1)) == ("622202*********3446", 1)
