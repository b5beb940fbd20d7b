"""A known plaintext, key and passphrase never show up where they should not.

Scans repr/str of Secret, Keyring, key infos, providers, models and every exception
the crypto layer raises, plus captured log output; pickling is refused.
"""

from __future__ import annotations

import base64
import copy
import logging
import pickle
import traceback
from pathlib import Path
from typing import Annotated

import pydantic
import pytest
from pydantic_core import PydanticSerializationError

import finprivacy as fp
from finprivacy.crypto import ARGON2_TESTING_ONLY, PassphraseProvider

PLAIN = "6222020200112233445"
MATERIAL = bytes.fromhex("9f" * 8 + "a1b2c3d4e5f60718" * 3)
PASS = "lotus-bookkeeping-2025!"
CTX = "customers.card_no"


def _forms() -> list[str]:
    """Every text form a leaked value could take."""
    return [PLAIN, PLAIN.encode().hex(), MATERIAL.hex(), repr(MATERIAL)[2:-1],
            base64.b64encode(MATERIAL).decode(), base64.urlsafe_b64encode(MATERIAL).decode()
            .rstrip("="), PASS, base64.b64encode(PASS.encode()).decode()]


def _assert_clean(text: str) -> None:
    for form in _forms():
        assert form not in text, "a secret leaked"


class Customer(pydantic.BaseModel):
    card_no: Annotated[fp.Secret[str], fp.Encrypted(context=CTX)]


def _keyring() -> fp.Keyring:
    return fp.Keyring._from_material("feedface", MATERIAL)


def test_reprs_and_strs() -> None:
    kr = _keyring()
    secret = fp.Secret(PLAIN)
    model = Customer(card_no=PLAIN)
    prov = PassphraseProvider(PASS, profile=ARGON2_TESTING_ONLY)
    parts = [kr, kr.keys(), kr.key("feedface"), secret, model, prov,
             fp.Secret(MATERIAL), fp.Encrypted(context=CTX), kr._primary]
    text = "".join(repr(p) + str(p) + f"{p}" for p in parts)
    text += model.model_dump_json(context={"keyring": kr})
    text += repr(model.model_dump()) + repr(vars(model)) + repr(model.__dict__)
    _assert_clean(text)


def _collect_errors(tmp_path: Path) -> list[BaseException]:
    kr = _keyring()
    token = kr.encrypt(PLAIN, context=CTX)
    errors: list[BaseException] = []
    attempts = [
        lambda: kr.decrypt(token, context="other"),
        lambda: kr.decrypt(token[:-3], context=CTX),
        lambda: kr.decrypt(PLAIN, context=CTX),
        lambda: kr.decrypt(f"fp1.feedface.{PLAIN}", context=CTX),
        lambda: kr.encrypt(PLAIN + "\ud800", context=CTX),
        lambda: kr.encrypt(int(PLAIN), context=CTX),  # type: ignore[arg-type]
        lambda: kr.decrypt_bytes(token, context=CTX),
        lambda: Customer(card_no=int(PLAIN)),  # type: ignore[arg-type]
        lambda: Customer.model_validate_json(f'{{"card_no": "{PLAIN}"}}'),
        lambda: Customer.model_validate({"card_no": token[:-2] + "AA"},
                                        context={"keyring": kr}),
        lambda: Customer(card_no=PLAIN).model_dump_json(),
        lambda: fp.Keyring.loads("{", passphrase=PASS),
        lambda: fp.Keyring.load(tmp_path / "keys.json",
                                provider=PassphraseProvider(PASS + "x",
                                                            profile=ARGON2_TESTING_ONLY)),
        lambda: pickle.dumps(kr),
        lambda: pickle.dumps(fp.Secret(PLAIN)),
        lambda: copy.deepcopy(kr),
    ]
    kr.save(tmp_path / "keys.json", provider=PassphraseProvider(PASS,
                                                                 profile=ARGON2_TESTING_ONLY))
    kr.rotate()
    kr.retire("feedface")
    attempts.append(lambda: kr.decrypt(token, context=CTX))
    attempts.append(lambda: kr.export_key_material("nope"))
    for attempt in attempts:
        try:
            attempt()
        except Exception as exc:
            errors.append(exc)
        else:  # pragma: no cover - each attempt must fail
            pytest.fail("an attempt did not raise")
    return errors


def test_exceptions_and_tracebacks(tmp_path: Path) -> None:
    errors = _collect_errors(tmp_path)
    assert len(errors) == 18
    for exc in errors:
        text = str(exc) + repr(exc) + "".join(traceback.format_exception(exc))
        if isinstance(exc, pydantic.ValidationError):
            text += repr(exc.errors())
        _assert_clean(text)


def test_crypto_failures_are_finprivacy_errors(tmp_path: Path) -> None:
    for exc in _collect_errors(tmp_path):
        assert isinstance(exc, fp.FinPrivacyError | pydantic.ValidationError | TypeError
                          | PydanticSerializationError), type(exc)


def test_captured_logs(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    log = logging.getLogger("lotus.app")
    kr = _keyring()
    model = Customer(card_no=PLAIN)
    with caplog.at_level(logging.DEBUG):
        log.debug("keyring %s %r", kr, kr)
        log.info("customer %s %r", model, model.model_dump())
        log.warning("secret %s", fp.Secret(PLAIN))
        for exc in _collect_errors(tmp_path):
            log.exception("failed", exc_info=exc)
    assert caplog.records
    _assert_clean(caplog.text)


def test_pickling_is_refused() -> None:
    kr = _keyring()
    for obj in (kr, fp.Secret(PLAIN), Customer(card_no=PLAIN), kr._primary,
                PassphraseProvider(PASS)):
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            with pytest.raises(TypeError):
                pickle.dumps(obj, protocol=protocol)
