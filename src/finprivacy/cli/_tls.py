"""``finprivacy tls check HOST:PORT``: judge a server's TLS against the policy."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InvalidInputError
from ..tls import TlsPolicy, check, client_context
from ._common import add_format_option, emit


def register(sub: Any) -> None:
    """Add the ``tls`` subcommand."""
    tls = sub.add_parser("tls", help="check a server's TLS (protocol, chain, expiry, host)")
    tsub = tls.add_subparsers(dest="tls_command", metavar="ACTION", required=True)
    chk = tsub.add_parser("check", help="connect and judge; exit 1 when short of the policy")
    chk.add_argument("target", metavar="HOST:PORT")
    chk.add_argument("--cafile", help="trust only this CA (PEM) instead of the system roots")
    chk.add_argument("--servername", help="the name to verify (default: HOST)")
    chk.add_argument("--min-days", type=int, default=30,
                     help="days before expiry that still pass (default 30)")
    chk.add_argument("--minimum", choices=("TLSv1.2", "TLSv1.3"), default="TLSv1.2")
    chk.add_argument("--pin", action="append", default=[], metavar="SHA256",
                     help="accept only a certificate key with this SPKI SHA-256 (repeatable)")
    chk.add_argument("--timeout", type=float, default=10.0)
    add_format_option(chk)
    chk.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    host, sep, port_text = args.target.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise InvalidInputError("give the server as HOST:PORT, e.g. db.example.cn:5432")
    policy = TlsPolicy(minimum=args.minimum, min_days_left=args.min_days,
                       pins=frozenset(p.lower() for p in args.pin))
    ctx = client_context(cafile=args.cafile, minimum=args.minimum)
    report = check(host.strip("[]"), int(port_text), context=ctx, policy=policy,
                   server_hostname=args.servername, timeout=args.timeout)
    lines = [f"{report.host}:{report.port}: {report.protocol or 'no handshake'}"
             f" {report.cipher or ''}".rstrip(),
             f"  chain valid: {report.chain_valid}; host name matches: {report.hostname_ok}"]
    if report.certificate is not None:
        lines.append(f"  certificate: {report.certificate.subject}, expires "
                     f"{report.certificate.not_after:%Y-%m-%d} ({report.days_left} days)")
    lines += [f"  PROBLEM: {p}" for p in report.problems] or ["  meets the policy"]
    emit(args, report.as_dict(), "\n".join(lines))
    return 0 if report.ok else 1
