"""Field encryption speed: fp1 tokens against raw AES-GCM, Fernet and Tink; pydantic models.

Targets from issue 2, as ratios to raw ``cryptography`` AESGCM measured in the same run:

* ``Keyring.encrypt`` / ``Keyring.decrypt`` of a 16-byte value ≤ 2.2× and of a 1 KiB
  value ≤ 1.8×. The encrypt baseline is ``AESGCM.encrypt(os.urandom(12), data, aad)``
  (a caller must draw a nonce too); the decrypt baseline is ``AESGCM.decrypt`` of the
  raw nonce and ciphertext (no text form, no key lookup);
* decrypting a token from an old (decrypt-only) key costs the same as from the primary;
* the pydantic round trip (``model_validate`` from tokens + ``model_dump(mode="json")``)
  of a model with three encrypted fields, per record, against the same model with plain
  ``str`` fields.

Fernet (from ``cryptography``) and Tink AEAD (``pip install tink``, the ``bench`` extra)
are printed beside them; Tink is skipped with a note when it is not installed. With the
``speed`` extra (the ``bench`` and ``dev`` extras install it) fastpybase64 (simdutf)
encodes and decodes every token body; the 1 KiB figures are also printed with it hidden.

The machine is shared, so every group of figures is measured interleaved (round-robin,
best of several rounds, in CPU time of the benchmark's thread), so that a burst of load
hits all members of a group alike.
"""

from __future__ import annotations

import binascii
import os
import time
from collections.abc import Callable
from typing import Annotated, Any

import pydantic
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import finprivacy as fp
from finprivacy.crypto import _keyring

from ._harness import heading, report

CTX = "customers.card_no"


def _interleaved(fns: dict[str, Callable[[], object]], *, number: int,
                 rounds: int) -> dict[str, float]:
    """Best CPU seconds per call of each function, measured round-robin.

    CPU time of this thread (``time.thread_time``), not wall time: on a shared machine
    the time spent waiting for a core would otherwise swamp microsecond figures.
    """
    best = dict.fromkeys(fns, float("inf"))
    clock = time.thread_time
    for _ in range(rounds):
        for name, fn in fns.items():
            start = clock()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (clock() - start) / number)
    return best


def _tink_aead() -> Any | None:
    try:
        import tink
        from tink import aead
    except ImportError:
        return None
    aead.register()
    handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
    return handle.primitive(aead.Aead)


def _values(size: int) -> tuple[bytes, str]:
    raw = os.urandom(size)
    return raw, raw.hex()[:size]


def _token_figures(size: int, kr: fp.Keyring, tink_aead: Any | None, *, number: int,
                   rounds: int) -> dict[str, float]:
    gcm = AESGCM(os.urandom(32))
    fernet = Fernet(Fernet.generate_key())
    aad = b"fp1\x00" + kr.primary_id.encode() + b"\x00" + CTX.encode()
    data, text = _values(size)
    nonce = os.urandom(12)
    sealed = gcm.encrypt(nonce, data, aad)
    token = kr.encrypt(data, context=CTX)
    text_token = kr.encrypt(text, context=CTX)
    fernet_token = fernet.encrypt(data)
    fns: dict[str, Callable[[], object]] = {
        "raw_enc": lambda: gcm.encrypt(os.urandom(12), data, aad),
        "fp_enc": lambda: kr.encrypt(data, context=CTX),
        "fp_enc_str": lambda: kr.encrypt(text, context=CTX),
        "fernet_enc": lambda: fernet.encrypt(data),
        "raw_dec": lambda: gcm.decrypt(nonce, sealed, aad),
        "fp_dec": lambda: kr.decrypt(token, context=CTX),
        "fp_dec_str": lambda: kr.decrypt(text_token, context=CTX),
        "fernet_dec": lambda: fernet.decrypt(fernet_token),
    }
    if tink_aead is not None:
        tink_ct = tink_aead.encrypt(data, CTX.encode())
        fns["tink_enc"] = lambda: tink_aead.encrypt(data, CTX.encode())
        fns["tink_dec"] = lambda: tink_aead.decrypt(tink_ct, CTX.encode())
    return _interleaved(fns, number=number, rounds=rounds)


def bench_tokens(quick: bool) -> None:
    number, rounds = (500, 5) if quick else (5000, 15)
    kr = fp.Keyring.generate()
    tink_aead = _tink_aead()
    targets = {16: 2.2, 1024: 1.8}
    for size in (16, 1024):
        t = _token_figures(size, kr, tink_aead, number=number, rounds=rounds)
        for op, verb, baseline in (("enc", "encrypt", "raw AESGCM.encrypt with os.urandom "
                                                      "nonce"),
                                   ("dec", "decrypt", "raw AESGCM.decrypt")):
            raw = t[f"raw_{op}"]
            heading(f"{verb} {size} B (baseline: {baseline})")
            report("raw cryptography AESGCM", raw, raw, baseline_name="raw")
            report(f"finprivacy Keyring.{verb} (bytes)", t[f"fp_{op}"], raw,
                   baseline_name="raw", target=targets[size])
            report(f"finprivacy Keyring.{verb} (str)", t[f"fp_{op}_str"], raw,
                   baseline_name="raw")
            report(f"Fernet.{verb}", t[f"fernet_{op}"], raw, baseline_name="raw")
            if f"tink_{op}" in t:
                report(f"Tink AEAD AES256_GCM {verb} (binary, no text form)", t[f"tink_{op}"],
                       raw, baseline_name="raw")
    if tink_aead is None:
        print("(Tink not installed: `pip install tink` or the `bench` extra to compare)")
    fast_codec = _keyring._url_encode, _keyring._url_decode
    if fast_codec[0] is None:
        print("(fastpybase64 not installed: tokens use the stdlib codec; the `speed` "
              "extra installs it)")
    else:
        # The same 1 KiB figures with the optional codec hidden: what a plain install gets.
        _keyring._url_encode = _keyring._url_decode = None
        try:
            t = _token_figures(1024, kr, None, number=number, rounds=rounds)
        finally:
            _keyring._url_encode, _keyring._url_decode = fast_codec
        heading("1024 B without the `speed` extra (stdlib base64 only)")
        report("finprivacy Keyring.encrypt (bytes), stdlib base64", t["fp_enc"], t["raw_enc"],
               baseline_name="raw", target=targets[1024])
        report("finprivacy Keyring.decrypt (bytes), stdlib base64", t["fp_dec"], t["raw_dec"],
               baseline_name="raw", target=targets[1024])
    # The floor of any text token: the stdlib base64 codec the format needs.
    body = os.urandom(12 + 1024 + 1 + 16)
    text = binascii.b2a_base64(body, newline=False)
    gcm = AESGCM(os.urandom(32))
    nonce, sealed = os.urandom(12), b""
    sealed = gcm.encrypt(nonce, body[:1025], b"")
    url_text = text.decode().replace("+", "-").replace("/", "_")
    funcs = {"gcm": lambda: gcm.decrypt(nonce, sealed, b""),
             "a2b": lambda: binascii.a2b_base64(text),
             "b2a": lambda: binascii.b2a_base64(body, newline=False)}
    decode, encode = fast_codec[1], fast_codec[0]
    if decode is not None and encode is not None:
        funcs["fast_dec"] = lambda: decode(url_text)
        funcs["fast_enc"] = lambda: encode(body)
    f = _interleaved(funcs, number=number, rounds=rounds)
    heading("why 1 KiB costs more: base64 of a 1 KiB token body vs AES-GCM alone")
    report("raw AESGCM.decrypt 1 KiB", f["gcm"], f["gcm"], baseline_name="raw")
    report("binascii.a2b_base64 of the token body", f["a2b"], f["gcm"], baseline_name="raw")
    report("binascii.b2a_base64 of the token body", f["b2a"], f["gcm"], baseline_name="raw")
    if "fast_dec" in f:
        report("fastpybase64 urlsafe decode of the body text", f["fast_dec"], f["gcm"],
               baseline_name="raw")
        report("fastpybase64 urlsafe encode of the body", f["fast_enc"], f["gcm"],
               baseline_name="raw")


def bench_old_key(quick: bool) -> None:
    number, rounds = (500, 5) if quick else (5000, 15)
    kr = fp.Keyring.generate()
    for _ in range(5):
        kr.rotate()
    old_token = kr.encrypt("6222020200112233445", context=CTX)
    for _ in range(20):
        kr.rotate()
    new_token = kr.encrypt("6222020200112233445", context=CTX)
    t = _interleaved({"primary": lambda: kr.decrypt(new_token, context=CTX),
                      "old": lambda: kr.decrypt(old_token, context=CTX)},
                     number=number, rounds=rounds)
    heading(f"decrypt by key age ({len(kr)} keys; baseline: a token of the primary key)")
    report("token from the primary key", t["primary"], t["primary"], baseline_name="primary")
    report("token from a decrypt-only key 20 rotations old", t["old"], t["primary"],
           baseline_name="primary", target=1.1)


class _Plain(pydantic.BaseModel):
    id: int
    name: str
    card_no: str
    id_no: str
    phone: str


class _Encrypted(pydantic.BaseModel):
    id: int
    name: str
    card_no: Annotated[fp.Secret[str], fp.Encrypted(context="customers.card_no")]
    id_no: Annotated[fp.Secret[str], fp.Encrypted(context="customers.id_no")]
    phone: Annotated[fp.Secret[str], fp.Encrypted(context="customers.phone")]


def bench_pydantic(quick: bool) -> None:
    number, rounds = (200, 5) if quick else (2000, 12)
    kr = fp.Keyring.generate()
    record = {"id": 7, "name": "Wang Fang", "card_no": "6222020200112233445",
              "id_no": "11010519491231002X", "phone": "13800138000"}
    ctx = {"keyring": kr}
    stored = _Encrypted.model_validate(record).model_dump(mode="json", context=ctx)

    def plain() -> object:
        return _Plain.model_validate(record).model_dump(mode="json")

    def encrypted() -> object:
        return _Encrypted.model_validate(stored, context=ctx).model_dump(mode="json",
                                                                         context=ctx)

    def ambient() -> object:
        with fp.use_keyring(kr):
            return _Encrypted.model_validate(stored).model_dump(mode="json")

    t = _interleaved({"plain": plain, "enc": encrypted, "ambient": ambient},
                     number=number, rounds=rounds)
    heading("pydantic round trip per record: validate + model_dump(mode='json')")
    report("plain str fields (5 fields)", t["plain"], t["plain"], baseline_name="plain")
    report("3 fp.Encrypted fields, keyring in context=", t["enc"], t["plain"],
           baseline_name="plain")
    report("3 fp.Encrypted fields, with fp.use_keyring", t["ambient"], t["plain"],
           baseline_name="plain")
    raw = _interleaved({"3 decrypt + 3 encrypt": lambda: [
        kr.encrypt(kr.decrypt(stored[f], context=f"customers.{f}"), context=f"customers.{f}")
        for f in ("card_no", "id_no", "phone")]}, number=number, rounds=rounds)
    report("(the 3 decrypts + 3 encrypts alone)", raw["3 decrypt + 3 encrypt"], t["plain"],
           baseline_name="plain")


def main(quick: bool = False) -> None:
    """Run the crypto benchmarks (``python -m benchmarks [--quick] crypto``)."""
    bench_tokens(quick)
    bench_old_key(quick)
    bench_pydantic(quick)


if __name__ == "__main__":
    main()
