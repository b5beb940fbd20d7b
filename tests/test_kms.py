"""AwsKmsProvider against moto's KMS in server mode on 127.0.0.1, started here."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import finprivacy as fp
from finprivacy.crypto import AwsKmsProvider

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (extra 'aws')")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class Calls:
    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)


@pytest.fixture
def kms(endpoint: str) -> tuple[Any, Calls]:
    client = boto3.client("kms", region_name="ap-east-1", endpoint_url=endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    calls = Calls()
    client.meta.events.register("before-call.kms", calls)
    return client, calls


def _new_key(client: Any, alias: str | None = None) -> str:
    key_id = str(client.create_key(Description="finprivacy test")["KeyMetadata"]["KeyId"])
    if alias:
        client.create_alias(AliasName=alias, TargetKeyId=key_id)
    return key_id


def test_keyring_file_under_kms_calls_kms_once_per_load(kms: tuple[Any, Calls],
                                                        tmp_path: Path) -> None:
    client, calls = kms
    key_id = _new_key(client, "alias/finprivacy-test-1")
    provider = AwsKmsProvider("alias/finprivacy-test-1", client=client)
    kr = fp.Keyring.generate()
    token = kr.encrypt("6222020200112233446", context="clients.card_no")
    path = tmp_path / "keys.json"
    base = len(calls.names)
    kr.save(path, provider=provider)
    assert calls.names[base:] == ["Encrypt"]
    doc = json.loads(path.read_text())
    assert doc["provider"]["kind"] == "aws-kms"
    assert doc["provider"]["params"]["key_arn"].endswith(key_id)

    base = len(calls.names)
    loaded = fp.Keyring.load(path, provider=AwsKmsProvider("alias/finprivacy-test-1",
                                                           client=client))
    assert calls.names[base:] == ["Decrypt"]
    # Fields never call KMS: encrypt, decrypt, derived keys, subject keys.
    for i in range(300):
        t = loaded.encrypt(f"value {i}", context="clients.note")
        assert loaded.decrypt(t, context="clients.note") == f"value {i}"
    assert loaded.decrypt(token, context="clients.card_no") == "6222020200112233446"
    sk = fp.SubjectKeys(loaded, "memory:")
    sk.decrypt(sk.encrypt("client-42", "x", context="c"), context="c")
    fp.BlindIndex(loaded, "clients.card_no").lookup_values("6222")
    assert calls.names[base:] == ["Decrypt"]


def test_client_from_endpoint_and_environment(endpoint: str, monkeypatch: pytest.MonkeyPatch,
                                              kms: tuple[Any, Calls]) -> None:
    client, _ = kms
    _new_key(client, "alias/finprivacy-test-env")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    provider = AwsKmsProvider("alias/finprivacy-test-env", region="ap-east-1",
                              endpoint_url=endpoint)
    dek = os.urandom(32)
    params = provider.wrap_key(dek)
    assert dek.hex() not in json.dumps(params)
    assert provider.unwrap_key(params) == dek


def test_wrong_key_is_refused(kms: tuple[Any, Calls], tmp_path: Path) -> None:
    client, _ = kms
    a = _new_key(client)
    b = _new_key(client)
    params = AwsKmsProvider(a, client=client).wrap_key(os.urandom(32))
    with pytest.raises(fp.KeyProviderError, match=b) as info:
        AwsKmsProvider(b, client=client).unwrap_key(params)
    assert "Decrypt" in str(info.value)
    kr = fp.Keyring.generate()
    kr.save(tmp_path / "k.json", provider=AwsKmsProvider(a, client=client))
    with pytest.raises(fp.KeyringError, match="could not be unlocked"):
        fp.Keyring.load(tmp_path / "k.json", provider=AwsKmsProvider(b, client=client))


def test_disabled_key(kms: tuple[Any, Calls]) -> None:
    # moto does not refuse Decrypt with a disabled key (real KMS does, see the stubbed
    # test below), so the key-state check is switched on here.
    client, _ = kms
    key_id = _new_key(client)
    provider = AwsKmsProvider(key_id, client=client, check_key_state=True)
    params = provider.wrap_key(os.urandom(32))
    client.disable_key(KeyId=key_id)
    with pytest.raises(fp.KeyProviderError, match="disabled"):
        provider.unwrap_key(params)
    with pytest.raises(fp.KeyProviderError, match="disabled"):
        provider.wrap_key(os.urandom(32))
    client.enable_key(KeyId=key_id)
    assert len(provider.unwrap_key(params)) == 32
    client.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(fp.KeyProviderError, match="PendingDeletion"):
        provider.unwrap_key(params)


def test_state_check_costs_one_describe(kms: tuple[Any, Calls]) -> None:
    client, calls = kms
    provider = AwsKmsProvider(_new_key(client), client=client, check_key_state=True)
    params = provider.wrap_key(os.urandom(32))
    base = len(calls.names)
    provider.unwrap_key(params)
    assert calls.names[base:] == ["DescribeKey", "Decrypt"]


@pytest.mark.parametrize(("code", "words"), [
    ("DisabledException", "is disabled"),
    ("KMSInvalidStateException", "pending deletion"),
    ("AccessDeniedException", "access to the KMS key is denied"),
    ("NotFoundException", "does not exist"),
])
def test_kms_error_codes_are_named(endpoint: str, code: str, words: str) -> None:
    # The error responses real KMS sends, fed through botocore's own Stubber.
    from botocore.stub import Stubber

    client = boto3.client("kms", region_name="ap-east-1", endpoint_url=endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    provider = AwsKmsProvider("alias/ledger", client=client)
    params = {"wrapped_dek": "AAAA"}
    with Stubber(client) as stub:
        stub.add_client_error("decrypt", service_error_code=code, service_message="from KMS")
        with pytest.raises(fp.KeyProviderError, match=words) as info:
            provider.unwrap_key(params)
    assert "alias/ledger" in str(info.value)
    assert code in str(info.value)


def test_unknown_key(kms: tuple[Any, Calls]) -> None:
    client, _ = kms
    with pytest.raises(fp.KeyProviderError, match="does not exist") as info:
        AwsKmsProvider("alias/no-such-key", client=client).wrap_key(os.urandom(32))
    assert "alias/no-such-key" in str(info.value)


def test_encryption_context_must_match(kms: tuple[Any, Calls]) -> None:
    client, _ = kms
    key_id = _new_key(client)
    params = AwsKmsProvider(key_id, client=client,
                            encryption_context={"app": "ledger"}).wrap_key(os.urandom(32))
    assert json.loads(params["encryption_context"]) == {"app": "ledger",
                                                        "finprivacy": "keyring-dek"}
    with pytest.raises(fp.KeyProviderError, match="does not match"):
        AwsKmsProvider(key_id, client=client,
                       encryption_context={"app": "payroll"}).unwrap_key(params)


def test_bad_params_and_arguments(kms: tuple[Any, Calls]) -> None:
    client, _ = kms
    provider = AwsKmsProvider(_new_key(client), client=client)
    for params in ({}, {"wrapped_dek": "not base64!"}):
        with pytest.raises(fp.KeyProviderError, match="wrapped key"):
            provider.unwrap_key(params)
    with pytest.raises(fp.InvalidInputError):
        AwsKmsProvider("")
    with pytest.raises(fp.InvalidInputError):
        AwsKmsProvider("k", encryption_context={"a": 1})  # type: ignore[dict-item]
    with pytest.raises(fp.InvalidInputError):
        provider.wrap_key(b"")


def test_unreachable_kms_is_a_provider_error() -> None:
    provider = AwsKmsProvider("alias/x", region="ap-east-1", endpoint_url="http://127.0.0.1:9",
                              client=boto3.client(
                                  "kms", region_name="ap-east-1",
                                  endpoint_url="http://127.0.0.1:9",
                                  aws_access_key_id="testing", aws_secret_access_key="testing",
                                  config=__import__("botocore.config").config.Config(
                                      retries={"max_attempts": 1}, connect_timeout=1)))
    with pytest.raises(fp.KeyProviderError, match="alias/x"):
        provider.wrap_key(os.urandom(32))


def test_repr_and_pickle() -> None:
    provider = AwsKmsProvider("alias/finprivacy", region="ap-east-1")
    assert repr(provider) == "AwsKmsProvider('alias/finprivacy', region='ap-east-1')"
    assert provider.kind == "aws-kms"
    assert isinstance(provider, fp.KeyProvider)
    with pytest.raises(TypeError):
        pickle.dumps(provider)
