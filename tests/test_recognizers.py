"""The recognizer registry (issue 21): built-in kinds as recognizers, and an
application's own kind flowing through scan, redact, mask, the logging filter and the
testing helpers."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

import finprivacy as fp
from finprivacy import identifiers
from finprivacy.errors import ConfigurationError
from finprivacy.logging import RedactingFilter
from finprivacy.masking import DEFAULT_PRESETS
from finprivacy.testing import LeakGuard, PIILeakError, assert_no_pii


def _employee(value: str) -> str | None:
    """EMP- and six digits, the last the sum of the first five mod 10."""
    digits = value[4:]
    if sum(map(int, digits[:5])) % 10 != int(digits[5]):
        return None
    return value.upper()


EMPLOYEE = fp.Recognizer("employee_no", re.compile(r"EMP-\d{6}", re.IGNORECASE), _employee,
                         context=("工号", "employee"), confidence=0.8, mask="last4")
VALID, INVALID = "EMP-123455", "EMP-123456"


@pytest.fixture
def employee() -> Iterator[fp.Recognizer]:
    fp.register_recognizer(EMPLOYEE)
    try:
        yield EMPLOYEE
    finally:
        fp.unregister_recognizer("employee_no")


def test_every_built_in_kind_is_a_recognizer_of_its_module() -> None:
    modules = [getattr(identifiers, name) for name in (
        "cn_id", "cn_uscc", "bank_card", "iban", "cn_phone", "phone", "email", "us_ssn",
        "cn_passport", "cn_bank_account")]
    assert tuple(m.KIND for m in modules) == identifiers.KINDS
    assert identifiers.recognizers()[:len(modules)] == tuple(m.RECOGNIZER for m in modules)
    for module in modules:
        rec = module.RECOGNIZER
        assert rec.kind == module.KIND and rec.context
        assert DEFAULT_PRESETS[rec.kind] == rec.mask  # one default masking rule per kind
        assert identifiers.recognizer(rec.kind) is rec
    examples = {"cn_id": "11010519491231002X", "bank_card": "6222020200112233446",
                "iban": "DE89370400440532013000", "cn_phone": "13812345678",
                "email": "a@example.com", "cn_passport": "E12345678"}
    for kind, value in examples.items():
        rec = identifiers.recognizer(kind)
        assert rec is not None
        assert rec.check(value) is not None
        assert rec.pattern.search(value) is not None  # type: ignore[union-attr]
        if kind in ("cn_id", "bank_card", "iban"):  # a checksum: one digit off fails
            assert rec.check(value[:-2] + ("1" if value[-2] != "1" else "2") + value[-1]) \
                is None


def test_module_find_functions_still_work() -> None:
    assert [f.kind for f in identifiers.cn_phone.find("手机13812345678")] == ["cn_phone"]
    assert [f.kind for f in identifiers.bank_card.find("card 6222020200112233446")] == [
        "bank_card"]


def test_a_registered_kind_is_found_validated_and_scored(employee: fp.Recognizer) -> None:
    found = fp.scan(f"员工 {VALID} 报销")
    assert [(f.kind, f.value.reveal(), f.confidence) for f in found] == [
        ("employee_no", VALID, 0.8)]
    assert fp.scan(f"员工 {INVALID} 报销") == []  # the checksum fails: not reported
    raised = fp.scan(f"工号：{VALID}")
    assert raised[0].confidence == 0.9 and raised[0].context == "工号"
    assert fp.scan(f"订单号 {VALID}") == []  # a negative word lowers it below 0.5
    assert fp.scan(f"X{VALID}") == [] and fp.scan(f"{VALID}7") == []  # glued: no match
    assert fp.scan("emp-123455 and 13812345678", kinds=["employee_no"])[0].value.reveal() \
        == VALID
    both = fp.scan(f"{VALID}，手机13812345678")
    assert [f.kind for f in both] == ["employee_no", "cn_phone"]
    assert "employee_no" in identifiers.known_kinds()


def test_a_registered_kind_is_masked_and_redacted(employee: fp.Recognizer) -> None:
    assert fp.mask(VALID, "employee_no") == "***-**3455"
    assert fp.mask(VALID, "employee_no", "full") == "[EMPLOYEE_NO]"
    assert fp.mask(VALID, "employee_no", "keep") == "***-**3455"
    assert fp.redact(f"报销人 {VALID}，手机13812345678") == "报销人 ***-**3455，手机138****5678"
    assert fp.redact({"memo": f"by {VALID}"}) == {"memo": "by ***-**3455"}
    assert fp.redact(f"by {VALID}", presets={"employee_no": "stars"}) == "by ***-******"
    assert fp.redact({"staff": VALID}, keys={"staff": "employee_no"}) == {"staff": "***-**3455"}


def test_a_registered_kind_reaches_logs_and_the_testing_helpers(
        employee: fp.Recognizer) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test_recognizers.app")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("expense approved for %s", VALID)
    finally:
        log.removeHandler(handler)
    assert VALID not in stream.getvalue() and "***-**3455" in stream.getvalue()
    with pytest.raises(PIILeakError, match="employee_no"):
        assert_no_pii({"note": f"staff {VALID}"})
    assert_no_pii({"note": f"staff {INVALID}"})
    with pytest.raises(PIILeakError), LeakGuard("test_recognizers.guarded"):
        logging.getLogger("test_recognizers.guarded").warning("id %s", VALID)


def test_unregistering_removes_the_kind_everywhere() -> None:
    fp.register_recognizer(EMPLOYEE)
    fp.unregister_recognizer("employee_no")
    assert fp.scan(f"工号 {VALID}") == []
    with pytest.raises(ConfigurationError, match="unknown kind"):
        fp.mask(VALID, "employee_no")
    with pytest.raises(ConfigurationError, match="unknown kind"):
        fp.scan("x", kinds=["employee_no"])
    fp.unregister_recognizer("employee_no")  # absent: ignored


def test_registration_rules(employee: fp.Recognizer) -> None:
    with pytest.raises(ConfigurationError, match="already registered"):
        fp.register_recognizer(EMPLOYEE)
    stricter = fp.Recognizer("employee_no", r"EMP-\d{6}", lambda v: None)
    fp.register_recognizer(stricter, replace=True)
    assert fp.scan(f"工号 {VALID}") == []
    with pytest.raises(ConfigurationError, match="built-in"):
        fp.register_recognizer(fp.Recognizer("cn_id", r"\d{18}", lambda v: v))
    with pytest.raises(ConfigurationError, match="built-in"):
        fp.unregister_recognizer("cn_id")
    with pytest.raises(ConfigurationError, match="mask"):
        fp.register_recognizer(fp.Recognizer("other_no", r"O\d{4}", lambda v: v,
                                             mask="pci_bin6_last4"))
    with pytest.raises(ConfigurationError, match="Recognizer"):
        fp.register_recognizer("employee_no")  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "Employee"}, "kind"),
    ({"kind": "1x"}, "kind"),
    ({"pattern": "EMP-("}, "does not compile"),
    ({"pattern": r"\d*"}, "empty"),
    ({"pattern": re.compile(rb"\d+")}, "text regular expression"),
    ({"validate": "not callable"}, "callable"),
    ({"context": "工号"}, "context"),
    ({"context": ("",)}, "context"),
    ({"confidence": 0}, "confidence"),
    ({"confidence": 1.5}, "confidence"),
    ({"confidence": True}, "confidence"),
    ({"mask": "Last 4"}, "mask"),
])
def test_a_malformed_recognizer_is_a_configuration_error(kwargs: dict[str, object],
                                                         message: str) -> None:
    args: dict[str, object] = {"kind": "employee_no", "pattern": r"EMP-\d{6}",
                               "validate": _employee}
    args.update(kwargs)
    with pytest.raises(ConfigurationError, match=message):
        fp.Recognizer(**args)  # type: ignore[arg-type]


def test_a_validator_that_raises_value_error_means_no_match() -> None:
    def strict(value: str) -> str:
        raise ValueError("never valid")

    fp.register_recognizer(fp.Recognizer("never_no", r"N\d{5}", strict))
    try:
        assert fp.scan("N12345") == []
    finally:
        fp.unregister_recognizer("never_no")


def test_scan_without_registered_kinds_is_unchanged() -> None:
    assert identifiers.recognizers()[-1].kind == "cn_bank_account"
    assert fp.scan("no digits here") == []


def test_an_own_kind_right_after_chinese_text_is_found() -> None:
    import finprivacy as fp

    rec = fp.Recognizer(kind="staff_no2", pattern=r"EMP-\d{6}",
                        validate=lambda text: text.upper(), context=("工号",))
    fp.register_recognizer(rec)
    try:
        assert [(f.kind, f.start) for f in fp.scan("工号EMP-004211。")] == [("staff_no2", 2)]
        assert [f.start for f in fp.scan("经办人EMP-004211")] == [3]
        assert fp.scan("xEMP-004211") == [] and fp.scan("éEMP-004211") == []
    finally:
        fp.unregister_recognizer("staff_no2")
