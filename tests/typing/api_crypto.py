"""The keyring, token and pydantic API as users write it; checked by mypy --strict, never run."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, assert_type

import pydantic

import finprivacy as fp
from finprivacy.crypto import (
    AES256_GCM,
    ARGON2_TESTING_ONLY,
    Argon2Profile,
    KeyInfo,
    KeyStatus,
    current_keyring,
    is_token,
    record_context,
)


def keyring_basics(path: Path) -> None:
    kr = fp.Keyring.generate(template=AES256_GCM, clock=fp.FixedClock(
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC)))
    tok = kr.encrypt("6222020200112233445", context="customers.card_no")
    assert_type(tok, str)
    assert_type(kr.decrypt(tok, context="customers.card_no"), str | bytes)
    assert_type(kr.decrypt_str(tok, context="customers.card_no"), str)
    assert_type(kr.decrypt_bytes(kr.encrypt(b"\x00", context="c"), context="c"), bytes)
    new_id: str = kr.rotate()
    assert_type(kr.primary_id, str)
    assert_type(kr.needs_reencrypt(tok), bool)
    tok = kr.reencrypt(tok, context="customers.card_no")
    infos: list[KeyInfo] = kr.keys()
    for info in infos:
        assert_type(info.status, KeyStatus)
        assert_type(info.created_at, dt.datetime)
        assert_type(info.key_id, str)
        assert_type(info.is_primary, bool)
    old = infos[0].id
    kr.retire(old)
    kr.reinstate(old)
    kr.retire(old)
    kr.destroy(old)
    kr.promote(new_id)
    key_id, subkey = kr.derive_key(b"finprivacy/blind-index/customers.card_no", length=32)
    assert_type(subkey, bytes)
    material: bytes = kr.export_key_material(key_id)
    del material
    kr.save(path, passphrase="correct horse battery staple")
    kr.save(path, provider=fp.PassphraseProvider(fp.Secret("pass"), profile=ARGON2_TESTING_ONLY))
    assert_type(fp.Keyring.load(path, passphrase="correct horse battery staple"), fp.Keyring)
    fp.Keyring.load(path, provider=fp.EnvironmentProvider("LOTUS_KEK"))
    fp.Keyring.from_env("FINPRIVACY_KEYRING", provider=fp.EnvironmentProvider())
    text: str = kr.dumps(passphrase="x")
    fp.Keyring.loads(text, passphrase="x", source="vault")
    row_ctx: str = record_context("customers.id_no", 42)
    ok: bool = is_token(tok)
    del row_ctx, ok
    profile = Argon2Profile("custom", time_cost=4, memory_cost=128 * 1024, parallelism=2)
    fp.PassphraseProvider("x", profile=profile)


def current() -> None:
    kr = fp.Keyring.generate()
    with fp.use_keyring(kr) as same:
        assert_type(same, fp.Keyring)
        assert_type(current_keyring(), fp.Keyring)

    @fp.use_keyring(kr)
    def job() -> int:
        return 1

    assert_type(job(), int)


class VaultProvider:
    """A user's own KeyProvider (for example a secrets manager)."""

    kind = "vault"

    def wrap_key(self, dek: bytes) -> dict[str, str]:
        return {"wrapped_dek": dek.hex()}

    def unwrap_key(self, params: Mapping[str, str]) -> bytes:
        return bytes.fromhex(params["wrapped_dek"])


def custom_provider(path: Path) -> None:
    provider: fp.KeyProvider = VaultProvider()
    fp.Keyring.generate().save(path, provider=provider)
    fp.Keyring.load(path, provider=VaultProvider())
    kek: str = fp.EnvironmentProvider.generate_kek()
    os.environ["LOTUS_KEK"] = kek


class Customer(pydantic.BaseModel):
    id: int
    card_no: Annotated[fp.Secret[str], fp.Encrypted(context="customers.card_no")]
    id_no: Annotated[fp.Secret[str] | None,
                     fp.Encrypted(context="customers.id_no", context_field="id")] = None
    scan: Annotated[fp.Secret[bytes] | None, fp.Encrypted(context="customers.scan")] = None
    legacy: Annotated[fp.Secret[str] | None,
                      fp.Encrypted(context="customers.legacy", accept_plaintext=True)] = None


def models(kr: fp.Keyring) -> None:
    c = Customer(id=1, card_no=fp.Secret("6222020200112233445"))
    assert_type(c.card_no.reveal(), str)
    if c.scan is not None:
        assert_type(c.scan.reveal(), bytes)
    with fp.use_keyring(kr):
        row = c.model_dump(mode="json")
        back = Customer.model_validate(row, context={"require_tokens": True})
        assert_type(fp.needs_resave(back), bool)
    c.model_dump_json(context={"keyring": kr})
    fp.needs_resave(back, keyring=kr)
