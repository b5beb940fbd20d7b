"""finprivacy.tls (issue 19) against local TLS servers on loopback, with certificates
made here with cryptography's x509: a good one, expired, wrong host, self-signed, and a
server that only speaks an old protocol."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import finprivacy as fp
from finprivacy.cli import main
from finprivacy.tls import (
    TlsPolicy,
    check,
    client_context,
    httpx_client_kwargs,
    psycopg_params,
)

NOW = dt.datetime.now(dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, issuer_key: ec.EllipticCurvePrivateKey, issuer: str, *,
          key: ec.EllipticCurvePrivateKey, ca: bool = False, dns: tuple[str, ...] = (),
          not_before: dt.datetime = NOW - dt.timedelta(days=1),
          not_after: dt.datetime = NOW + dt.timedelta(days=365)) -> x509.Certificate:
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                          crl_sign=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False,
                                          decipher_only=False), critical=True)
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
    else:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]),
                            critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pem(obj: x509.Certificate | ec.EllipticCurvePrivateKey) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Server:
    """A TLS server on 127.0.0.1 that completes handshakes until stopped."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.ctx = ctx
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    def close(self) -> None:
        self.stop = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("books test CA", ca_key, "books test CA", key=ca_key, ca=True)
    files = {"ca": d / "ca.pem"}
    files["ca"].write_bytes(_pem(ca))
    leaves = {
        "good": {"dns": ("localhost",)},
        "expired": {"dns": ("localhost",), "not_before": NOW - dt.timedelta(days=400),
                        "not_after": NOW - dt.timedelta(days=2)},
        "soon": {"dns": ("localhost",), "not_after": NOW + dt.timedelta(days=10)},
        "wronghost": {"dns": ("db.example.cn",)},
    }
    for name, opts in leaves.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(f"{name}.books", ca_key, "books test CA", key=key, **opts)  # type: ignore[arg-type]
        (d / f"{name}.pem").write_bytes(_pem(cert) + _pem(key))
        files[name] = d / f"{name}.pem"
    self_key = ec.generate_private_key(ec.SECP256R1())
    self_cert = _cert("localhost", self_key, "localhost", key=self_key, dns=("localhost",))
    (d / "self.pem").write_bytes(_pem(self_cert) + _pem(self_key))
    files["self"] = d / "self.pem"
    return files


@pytest.fixture(scope="module")
def servers(pki: dict[str, Path]) -> Iterator[dict[str, Server]]:
    running: dict[str, Server] = {}
    for name in ("good", "expired", "soon", "wronghost", "self"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki[name])
        running[name] = Server(ctx)
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    old.load_cert_chain(pki["good"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # on purpose: old servers
            old.set_ciphers("DEFAULT:@SECLEVEL=0")
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        running["old"] = Server(old)
    except (ValueError, ssl.SSLError):  # this OpenSSL cannot even offer TLS 1.0/1.1
        pass
    yield running
    for s in running.values():
        s.close()


def test_a_good_server_meets_the_policy(pki: dict[str, Path],
                                        servers: dict[str, Server]) -> None:
    ctx = client_context(cafile=pki["ca"])
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2 and ctx.check_hostname
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    report = check("localhost", servers["good"].port, context=ctx)
    assert report.ok, report.problems
    assert report.protocol == "TLSv1.3" and report.chain_valid and report.hostname_ok
    assert report.days_left is not None and 360 <= report.days_left <= 365
    assert report.certificate is not None and report.certificate.dns_names == ("localhost",)
    pinned = check("localhost", servers["good"].port, context=ctx,
                   policy=TlsPolicy(pins=frozenset({"00" * 32})))
    assert pinned.problems == ("certificate key is not one of the pinned keys",)


@pytest.mark.parametrize(("name", "problem"), [
    ("expired", "expired"), ("wronghost", "does not verify"), ("self", "does not verify"),
    ("soon", "expires in"),
])
def test_bad_servers_are_reported(pki: dict[str, Path], servers: dict[str, Server],
                                  name: str, problem: str) -> None:
    report = check("localhost", servers[name].port, context=client_context(cafile=pki["ca"]))
    assert not report.ok and any(problem in p for p in report.problems), report.problems
    assert report.certificate is not None  # what is wrong is still shown
    assert report.hostname_ok is (name != "wronghost")
    # "soon" verifies (only the policy objects); "wronghost" has a good chain, wrong name
    assert report.chain_valid is (name in ("soon", "wronghost"))


def test_an_old_protocol_server_is_refused(pki: dict[str, Path],
                                           servers: dict[str, Server]) -> None:
    if "old" not in servers:
        pytest.skip("this OpenSSL cannot offer TLS 1.0/1.1 even to test a refusal")
    report = check("localhost", servers["old"].port, context=client_context(cafile=pki["ca"]))
    assert not report.ok and not report.chain_valid


def test_cli_tls_check(pki: dict[str, Path], servers: dict[str, Server],
                       capsys: pytest.CaptureFixture[str]) -> None:
    good = f"localhost:{servers['good'].port}"
    assert main(["tls", "check", good, "--cafile", str(pki["ca"])]) == 0
    assert "meets the policy" in capsys.readouterr().out
    assert main(["tls", "check", f"localhost:{servers['expired'].port}", "--cafile",
                 str(pki["ca"]), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and "certificate has expired" in data["problems"]
    assert main(["tls", "check", good, "--cafile", str(pki["ca"]), "--min-days",
                 "400"]) == 1
    assert main(["tls", "check", "no-port"]) == 3
    assert main(["tls", "check", good, "--cafile", str(pki["ca"]) + ".missing"]) == 3


def test_helpers_for_psycopg_httpx_and_bad_settings(pki: dict[str, Path]) -> None:
    params = psycopg_params(cafile=pki["ca"])
    assert params["sslmode"] == "verify-full" and params["sslrootcert"] == str(pki["ca"])
    assert params["ssl_min_protocol_version"] == "TLSv1.2"
    assert psycopg_params()["sslrootcert"] == "system"
    assert isinstance(httpx_client_kwargs()["verify"], ssl.SSLContext)
    with pytest.raises(fp.ConfigurationError):
        client_context(minimum="TLSv1.0")
    with pytest.raises(fp.ConfigurationError):
        client_context(cafile=pki["good"].with_suffix(".none"))
    with pytest.raises(fp.InvalidInputError):
        check("", 0)
