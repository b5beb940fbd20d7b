"""Masking and redaction at a bookkeeping firm: screens, exports, chat and logs.

* the onboarding desk validates a new client's identifiers (typed errors, no echo);
* the client list on staff screens shows masked values (PCI DSS 3.4.1, 138****1234 …);
* a support-chat transcript is scanned and redacted before it goes to the ticket system;
* a JSON export for the auditors is redacted by key names and by values;
* the application log passes through the redacting filter;
* an analyst's extract uses keyed pseudonyms so rows can still be joined;
* the firm's own employee numbers become a kind the scanner, redaction and logs know.

Run: ``python examples/masking_and_redaction.py`` (well under a second).
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets

import finprivacy as fp
from finprivacy.identifiers import bank_card, cn_id
from finprivacy.logging import RedactingFilter
from finprivacy.masking import mask_field, redact_json

CLIENTS = [
    {"client_id": "C-1001", "姓名": "欧阳娜娜", "身份证号": "11010519491231002X",
     "card_no": "6222020200112233446", "phone": "13812345678",
     "email": "ouyang.nana@example.com", "address": "北京市朝阳区建国路88号SOHO现代城A座1001"},
    {"client_id": "C-1002", "姓名": "John Smith", "身份证号": "",
     "card_no": "4111 1111 1111 1111", "phone": "+44 20 7946 0958",
     "email": "john.smith@example.com", "address": "221B Baker Street, London, UK"},
]

CHAT = """\
[09:30] 客户: 你好，我想改一下预留手机，原来是138 1234 5678
[09:31] 客服: 好的，请提供身份证号和卡号后四位以外的信息核验
[09:31] 客户: 身份证１１０１０５１９４９１２３１００２Ｘ，卡号6222 0202 0011 2233 446
[09:32] 客服: 已核验。工单号20240315000123，如有问题请拨打95588
[09:33] client: my IBAN for the refund is GB82 WEST 1234 5698 7654 32, thanks!
"""


def onboarding() -> None:
    print("== onboarding: validate what the client typed ==")
    for typed in ("11010519491231002X", "110105194912310021"):
        try:
            print("  ID ok:", cn_id.validate(typed)[:6] + "…")
        except fp.InvalidIdentifierError as exc:
            print(f"  rejected ({type(exc).__name__}): {exc}")
    print("  card network:", bank_card.issuer("6222 0202 0011 2233 446"))


def staff_screen() -> None:
    print("\n== client list on a staff screen ==")
    for c in CLIENTS:
        print("  " + " | ".join(str(mask_field(k, v)) for k, v in c.items() if v))


def support_chat() -> None:
    print("\n== support chat: what the scanner finds ==")
    for f in fp.scan(CHAT):
        print(f"  {f.kind:<10} at {f.start:>3}-{f.end:<3} confidence {f.confidence:.2f}"
              f"{'  (after ' + repr(f.context) + ')' if f.context else ''}")
    print("\n== support chat: redacted for the ticket system ==")
    print("  " + fp.redact(CHAT).replace("\n", "\n  ").rstrip())


def export() -> None:
    print("\n== JSON export for the auditors ==")
    doc = json.dumps({"clients": CLIENTS}, ensure_ascii=False)
    print("  " + json.dumps(json.loads(redact_json(doc))["clients"][0], ensure_ascii=False))


def logs() -> None:
    print("\n== application log through the redacting filter ==")
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log = logging.getLogger("lotus.payments")
    log.addHandler(handler)
    log.propagate = False
    log.warning("refund of %s to card %s failed for client %s", "¥1,280.00",
                "6222020200112233446", "C-1001")
    print("  " + buf.getvalue().strip())


def analyst_extract() -> None:
    print("\n== analyst extract with keyed pseudonyms (same card, same token) ==")
    key = secrets.token_bytes(32)  # in production: from the keyring / a KMS
    rows = [("6222020200112233446", 1280.0), ("6222 0202 0011 2233 446", 99.0),
            ("4111111111111111", 15.5)]
    for card, amount in rows:
        print(f"  {fp.mask(card, 'bank_card', 'pseudonym', pseudonym_key=key)}  {amount:>8.2f}")


def employee_numbers() -> None:
    print("\n== the firm's own kind: employee numbers with a check digit ==")

    def employee_no(value: str) -> str | None:
        digits = value[4:]  # EMP- and six digits, the last the sum of the others mod 10
        return value.upper() if sum(map(int, digits[:5])) % 10 == int(digits[5]) else None

    fp.register_recognizer(fp.Recognizer(
        "employee_no", re.compile(r"EMP-\d{6}", re.IGNORECASE), employee_no,
        context=("工号", "employee"), mask="last4"))
    try:
        note = "报销人 工号 EMP-123455，订单号 EMP-123456，手机13812345678"
        for f in fp.scan(note):
            print(f"  {f.kind:<12} {f.confidence:.2f}  at {f.start}-{f.end}")
        print("  " + fp.redact(note))
    finally:
        fp.unregister_recognizer("employee_no")


if __name__ == "__main__":
    onboarding()
    staff_screen()
    support_chat()
    export()
    logs()
    analyst_extract()
    employee_numbers()
