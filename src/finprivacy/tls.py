"""Encryption in transit: a strict client ``ssl.SSLContext``, and checks of a server.

:func:`client_context` is what every client of a bookkeeping system should use to
reach its database, its services and its mail server: TLS 1.2 at least (1.3 preferred,
as OpenSSL negotiates it first), only forward-secret AEAD cipher suites on TLS 1.2,
the certificate chain verified against the system's roots or a pinned CA, the host name
checked, compression and renegotiation off, optionally a client certificate.
:func:`psycopg_params`, :func:`httpx_client_kwargs` and :func:`smtp_connect` hand it
to the libraries a firm uses. :func:`check` connects to a server and judges it against
a :class:`TlsPolicy` (``finprivacy tls check HOST:PORT``).

References: NIST SP 800-52 Rev. 2 (TLS 1.2 minimum, 1.3 support, AEAD suites), GB/T
35273-2020 §6.3 (transmission of personal information protected by encryption).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import socket
import ssl
from collections.abc import Mapping
from typing import Any

from .clock import Clock, SystemClock
from .crypto import CertificateFacts, certificate_facts
from .errors import ConfigurationError, InvalidInputError

__all__ = [
    "STRICT_TLS12_CIPHERS",
    "TlsPolicy",
    "TlsReport",
    "check",
    "client_context",
    "httpx_client_kwargs",
    "psycopg_params",
    "smtp_connect",
]

STRICT_TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5:!SHA1:!RSA"
"""TLS 1.2 suites allowed: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305."""

_VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}


def client_context(*, cafile: str | os.PathLike[str] | None = None,
                   cadata: str | bytes | None = None,
                   certfile: str | os.PathLike[str] | None = None,
                   keyfile: str | os.PathLike[str] | None = None,
                   minimum: str = "TLSv1.2") -> ssl.SSLContext:
    """Return a strict client context.

    ``cafile``/``cadata`` pin the CA (only it is trusted); without them the system's
    roots are. ``certfile``/``keyfile`` present a client certificate. ``minimum`` is
    ``"TLSv1.2"`` (default) or ``"TLSv1.3"``.
    """
    if minimum not in _VERSIONS:
        raise ConfigurationError("minimum must be 'TLSv1.2' or 'TLSv1.3'")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies chain and host name
    if cafile is not None or cadata is not None:
        try:
            ctx.load_verify_locations(cafile=cafile, cadata=cadata)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot load the pinned CA: {exc}") from None
    else:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = _VERSIONS[minimum]
    ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    ctx.set_ciphers(STRICT_TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    if certfile is not None:
        try:
            ctx.load_cert_chain(certfile, keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot load the client certificate: {exc}") from None
    return ctx


def psycopg_params(*, cafile: str | os.PathLike[str] | None = None,
                   certfile: str | os.PathLike[str] | None = None,
                   keyfile: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Return connection parameters for psycopg/libpq with the same strictness.

    libpq does its own TLS, so it takes parameters, not a context: ``sslmode=verify-full``
    (chain and host name), TLS 1.2 at least, the pinned CA (else the system's roots),
    and the client certificate. Use as ``psycopg.connect(dsn, **psycopg_params(...))``.
    """
    params = {"sslmode": "verify-full", "ssl_min_protocol_version": "TLSv1.2",
              "sslrootcert": os.fspath(cafile) if cafile is not None else "system",
              "sslcompression": "0"}
    if certfile is not None:
        params["sslcert"] = os.fspath(certfile)
    if keyfile is not None:
        params["sslkey"] = os.fspath(keyfile)
    return params


def httpx_client_kwargs(context: ssl.SSLContext | None = None) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client``/``AsyncClient``: ``verify`` set to the context."""
    return {"verify": context if context is not None else client_context()}


def smtp_connect(host: str, port: int = 465, *, context: ssl.SSLContext | None = None,
                 starttls: bool = False, timeout: float = 30.0) -> Any:
    """Open an SMTP connection protected by the strict context.

    Port 465 (implicit TLS, RFC 8314) by default; ``starttls=True`` for port 587, where
    a server that does not offer STARTTLS is refused rather than used in clear.
    """
    import smtplib

    ctx = context if context is not None else client_context()
    if not starttls:
        return smtplib.SMTP_SSL(host, port, context=ctx, timeout=timeout)
    conn = smtplib.SMTP(host, port, timeout=timeout)
    try:
        conn.ehlo()
        if not conn.has_extn("starttls"):
            raise ConfigurationError(f"{host}:{port} does not offer STARTTLS; refusing "
                                     "to send in clear")
        conn.starttls(context=ctx)
        conn.ehlo()
    except BaseException:
        conn.close()
        raise
    return conn


@dataclasses.dataclass(frozen=True, slots=True)
class TlsPolicy:
    """What :func:`check` requires of a server."""

    minimum: str = "TLSv1.2"
    """The oldest protocol accepted."""
    min_days_left: int = 30
    """Fewer days before the certificate expires is a finding."""
    pins: frozenset[str] = frozenset()
    """If given, the leaf's SPKI SHA-256 (hex) must be one of these."""


@dataclasses.dataclass(frozen=True, slots=True)
class TlsReport:
    """The outcome of :func:`check`: what was seen, and what falls short of the policy."""

    host: str
    port: int
    protocol: str | None
    """The negotiated protocol (``TLSv1.3``), or ``None`` if no handshake succeeded."""
    cipher: str | None
    chain_valid: bool
    """The chain verified against the trusted roots (or the pinned CA)."""
    hostname_ok: bool
    certificate: CertificateFacts | None
    days_left: int | None
    problems: tuple[str, ...]
    """Empty when the server meets the policy."""

    @property
    def ok(self) -> bool:
        """Whether the server meets the policy."""
        return not self.problems

    def as_dict(self) -> Mapping[str, Any]:
        """Return a JSON-ready summary."""
        cert = self.certificate
        return {"host": self.host, "port": self.port, "protocol": self.protocol,
                "cipher": self.cipher, "chain_valid": self.chain_valid,
                "hostname_ok": self.hostname_ok, "days_left": self.days_left,
                "subject": cert.subject if cert else None,
                "issuer": cert.issuer if cert else None,
                "not_after": cert.not_after.isoformat() if cert else None,
                "spki_sha256": cert.spki_sha256 if cert else None,
                "ok": self.ok, "problems": list(self.problems)}


def _handshake(host: str, port: int, ctx: ssl.SSLContext, timeout: float,
               server_hostname: str | None) -> tuple[str | None, str | None, bytes | None]:
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
        cipher = tls.cipher()
        return tls.version(), cipher[0] if cipher else None, tls.getpeercert(binary_form=True)


def check(host: str, port: int = 443, *, context: ssl.SSLContext | None = None,
          policy: TlsPolicy | None = None, server_hostname: str | None = None,
          timeout: float = 10.0, clock: Clock | None = None) -> TlsReport:
    """Connect to ``host:port`` and judge the server against ``policy``.

    One handshake with ``context`` (default :func:`client_context`) says whether the
    chain and host name verify; a second one that does not verify (only when the
    first failed) still reads the protocol, cipher and certificate, so the report says
    what is wrong. Connection failures raise ``OSError``.
    """
    if not host or not 0 < port < 65536:
        raise InvalidInputError("check needs a host and a port between 1 and 65535")
    pol = policy or TlsPolicy()
    ctx = context or client_context(minimum=pol.minimum)
    name = server_hostname or host
    problems: list[str] = []
    chain_ok = hostname_ok = True
    try:
        protocol, cipher, der = _handshake(host, port, ctx, timeout, name)
    except ssl.SSLCertVerificationError as exc:
        message = exc.verify_message or str(exc)
        hostname_ok = "hostname" not in message.lower() and "ip address" not in (
            message.lower())
        chain_ok = not hostname_ok  # a host name mismatch is the only error: chain is fine
        problems.append(f"certificate does not verify: {message}")
        protocol = cipher = None
        der = None
    except ssl.SSLError as exc:
        chain_ok = hostname_ok = False
        problems.append(f"handshake refused under the policy: {exc.reason or exc}")
        protocol = cipher = None
        der = None
    if der is None:  # look anyway, without verifying, to report what the server offers
        loose = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        loose.check_hostname = False
        loose.verify_mode = ssl.CERT_NONE
        loose.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        try:
            seen_protocol, cipher, der = _handshake(host, port, loose, timeout, name)
            if protocol is None and seen_protocol is not None:
                protocol = seen_protocol
        except (ssl.SSLError, OSError):
            pass
    facts = certificate_facts(der) if der else None
    days = None
    if facts is not None:
        now = (clock or SystemClock()).now()
        days = (facts.not_after - now) // _dt.timedelta(days=1)
        if facts.not_after <= now:
            problems.append("certificate has expired")
        elif days < pol.min_days_left:
            problems.append(f"certificate expires in {days} days (policy: "
                            f"{pol.min_days_left})")
        if pol.pins and facts.spki_sha256 not in pol.pins:
            problems.append("certificate key is not one of the pinned keys")
    if protocol is not None and protocol not in _VERSIONS:
        problems.append(f"protocol {protocol} is below {pol.minimum}")
    elif protocol is not None and pol.minimum == "TLSv1.3" and protocol != "TLSv1.3":
        problems.append(f"protocol {protocol} is below TLSv1.3")
    return TlsReport(host=host, port=port, protocol=protocol, cipher=cipher,
                     chain_valid=chain_ok,
                     hostname_ok=hostname_ok, certificate=facts, days_left=days,
                     problems=tuple(dict.fromkeys(problems)))
