"""The ``FINPRIVACY`` setting, read once and cached.

::

    FINPRIVACY = {
        "KEYRING_FILE": BASE_DIR / "keyring.json",
        "KEY_PROVIDER": {"kind": "environment", "var": "FINPRIVACY_KEK"},
        # or {"kind": "passphrase_file", "path": "/run/secrets/keyring-passphrase"}
        # or {"kind": "aws_kms", "key_id": "arn:aws:kms:…", "region": "cn-north-1"}
        # or {"kind": "pkcs11", "library": "…/libsofthsm2.so", "token_label": "books",
        #     "key_label": "kek", "pin_env": "FINPRIVACY_HSM_PIN"}
        "POLICY": BASE_DIR / "policy.toml",          # optional: configures access control
        "INVENTORY": BASE_DIR / "inventory.toml",    # optional
        "BLIND_INDEX_BITS": 32,                      # optional
        "PRINCIPAL": "books.auth.principal_for",     # optional, see the middleware
    }

``"KEYRING"`` may hold a :class:`~finprivacy.Keyring` object instead (tests). Secrets
(passphrases, PINs, key-encryption keys) are never put in the settings themselves:
they come from a file or an environment variable named there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django import conf as django_conf

from ..crypto import (
    AwsKmsProvider,
    EnvironmentProvider,
    KeyProvider,
    Keyring,
    PassphraseProvider,
    Pkcs11Provider,
)
from ..errors import ConfigurationError

__all__ = ["KNOWN_KEYS", "cached", "get_keyring", "provider_from", "reset", "setting"]

KNOWN_KEYS = frozenset({"KEYRING", "KEYRING_FILE", "KEY_PROVIDER", "POLICY", "INVENTORY",
                        "BLIND_INDEX_BITS", "PRINCIPAL", "REQUEST_ID_HEADER"})
"""The keys ``FINPRIVACY`` may hold (the system checks flag others as typos)."""

_lock = threading.RLock()  # cached() makers may load the keyring
_cache: dict[str, Any] = {}


def setting(name: str, default: Any = None) -> Any:
    """Return ``FINPRIVACY[name]`` (``default`` when absent)."""
    conf = getattr(django_conf.settings, "FINPRIVACY", None) or {}
    if not isinstance(conf, Mapping):
        raise ConfigurationError("settings.FINPRIVACY must be a dict")
    return conf.get(name, default)


def provider_from(spec: Mapping[str, Any]) -> KeyProvider:
    """Build the key provider a ``KEY_PROVIDER`` mapping describes."""
    kind = spec.get("kind")
    if kind == "environment":
        return EnvironmentProvider(str(spec.get("var", "FINPRIVACY_KEK")))
    if kind == "passphrase_file":
        path = spec.get("path")
        if not path:
            raise ConfigurationError("KEY_PROVIDER passphrase_file needs 'path'")
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the passphrase file named in KEY_PROVIDER: {exc.strerror}"
            ) from None
        return PassphraseProvider(text)
    if kind == "aws_kms":
        return AwsKmsProvider(str(spec.get("key_id", "")), region=spec.get("region"))
    if kind == "pkcs11":
        pin = os.environ.get(str(spec.get("pin_env", "FINPRIVACY_HSM_PIN")), "")
        return Pkcs11Provider(library=str(spec.get("library", "")),
                              token_label=str(spec.get("token_label", "")),
                              key_label=str(spec.get("key_label", "")), pin=pin)
    raise ConfigurationError(
        "FINPRIVACY['KEY_PROVIDER']['kind'] must be environment, passphrase_file, aws_kms "
        f"or pkcs11, not {kind!r}")


def get_keyring() -> Keyring:
    """Return the keyring the settings name, loaded once per process."""
    found = _cache.get("keyring")
    if isinstance(found, Keyring):
        return found
    with _lock:
        found = _cache.get("keyring")
        if found is None:
            given = setting("KEYRING")
            if isinstance(given, Keyring):
                found = given
            else:
                path = setting("KEYRING_FILE")
                spec = setting("KEY_PROVIDER")
                if not path or not isinstance(spec, Mapping):
                    raise ConfigurationError(
                        "settings.FINPRIVACY needs KEYRING_FILE and KEY_PROVIDER (or KEYRING)")
                found = Keyring.load(path, provider=provider_from(spec))
            _cache["keyring"] = found
    kr: Keyring = found
    return kr


def cached(name: str, make: Any) -> Any:
    """Return ``_cache[name]``, made once by ``make()``."""
    found = _cache.get(name)
    if found is None:
        with _lock:
            found = _cache.get(name)
            if found is None:
                found = _cache[name] = make()
    return found


def reset() -> None:
    """Forget the loaded keyring and indexes (after the settings change, in tests)."""
    with _lock:
        _cache.clear()
