"""Facts about an X.509 certificate, for the TLS checks (parsing only, no trust decisions)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..errors import InvalidInputError

__all__ = ["CertificateFacts", "certificate_facts"]


@dataclasses.dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What a TLS check reports about a certificate."""

    subject: str
    """The subject, RFC 4514 text."""
    issuer: str
    """The issuer, RFC 4514 text."""
    not_before: _dt.datetime
    """Start of validity (UTC)."""
    not_after: _dt.datetime
    """End of validity (UTC)."""
    dns_names: tuple[str, ...]
    """The subject alternative DNS names."""
    spki_sha256: str
    """SHA-256 of the DER SubjectPublicKeyInfo, hex (what a pin names)."""
    self_signed: bool
    """Issuer equals subject."""


def certificate_facts(der: bytes) -> CertificateFacts:
    """Parse a DER certificate; raise :class:`InvalidInputError` if it is not one."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        raise InvalidInputError("not a DER X.509 certificate") from None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = tuple(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = ()
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return CertificateFacts(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        dns_names=names, spki_sha256=hashlib.sha256(spki).hexdigest(),
        self_signed=cert.subject == cert.issuer)
