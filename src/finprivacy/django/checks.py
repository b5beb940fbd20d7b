"""Django system checks for finprivacy (``manage.py check``, run at start-up)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django import conf as django_conf
from django.apps import apps
from django.core.checks import Error, Tags, Warning, register

from .conf import KNOWN_KEYS
from .fields import EncryptedField

__all__ = ["check_fields", "check_settings"]


@register(Tags.security)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``FINPRIVACY``: a dict, known keys, a keyring and a provider, files that exist."""
    conf = getattr(django_conf.settings, "FINPRIVACY", None)
    if conf is None:
        return [Error("settings.FINPRIVACY is not set", id="finprivacy.E001",
                      hint="name the keyring file and its KEY_PROVIDER")]
    if not isinstance(conf, Mapping):
        return [Error("settings.FINPRIVACY must be a dict", id="finprivacy.E002")]
    found: list[Any] = []
    for key in sorted(set(conf) - KNOWN_KEYS):
        found.append(Warning(f"FINPRIVACY has an unknown key {key!r}", id="finprivacy.W001",
                             hint=f"known keys: {', '.join(sorted(KNOWN_KEYS))}"))
    if "KEYRING" not in conf:
        if not conf.get("KEYRING_FILE"):
            found.append(Error("FINPRIVACY needs KEYRING_FILE", id="finprivacy.E003"))
        elif not Path(conf["KEYRING_FILE"]).is_file():
            found.append(Error("the keyring file named by FINPRIVACY['KEYRING_FILE'] does "
                               "not exist", id="finprivacy.E004",
                               hint="make one with: finprivacy keys init"))
        spec = conf.get("KEY_PROVIDER")
        if not isinstance(spec, Mapping) or spec.get("kind") not in (
                "environment", "passphrase_file", "aws_kms", "pkcs11"):
            found.append(Error("FINPRIVACY['KEY_PROVIDER'] must be a dict whose 'kind' is "
                               "environment, passphrase_file, aws_kms or pkcs11",
                               id="finprivacy.E005"))
        elif spec.get("kind") == "passphrase_file" and not Path(
                str(spec.get("path", ""))).is_file():
            found.append(Error("the passphrase file named in KEY_PROVIDER does not exist",
                               id="finprivacy.E006"))
    for key in ("POLICY", "INVENTORY"):
        if conf.get(key) and not Path(conf[key]).is_file():
            found.append(Error(f"the file named by FINPRIVACY[{key!r}] does not exist",
                               id="finprivacy.E007"))
    return found


@register(Tags.models)
def check_fields(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Encrypted fields: contexts unique, row keys that exist, a blind index's column."""
    found: list[Any] = []
    seen: dict[str, str] = {}
    for model in apps.get_models():
        names = {f.name for f in model._meta.get_fields()}
        for field in model._meta.local_fields:
            if not isinstance(field, EncryptedField):
                continue
            where = f"{model._meta.label}.{field.name}"
            other = seen.setdefault(field.context, where)
            if other != where:
                found.append(Error(f"{where} and {other} share the context "
                                   f"{field.context!r}", id="finprivacy.E010",
                                   hint="a token must be bound to one column"))
            if field.row_key is not None and field.row_key not in names:
                found.append(Error(f"{where}: row_key {field.row_key!r} is not a field",
                                   id="finprivacy.E011"))
            if field.blind_index and f"{field.name}_bidx" not in names:
                found.append(Error(f"{where}: blind_index=True but {field.name}_bidx is "
                                   "missing", id="finprivacy.E012"))
    return found
