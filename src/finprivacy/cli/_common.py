"""Helpers shared by the CLI subcommands: secrets from safe sources, output."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from ..errors import ConfigurationError


def add_passphrase_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--passphrase-env VAR`` and ``--passphrase-stdin`` (never the value itself)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--passphrase-env", metavar="VAR",
                       help="read the passphrase from this environment variable")
    group.add_argument("--passphrase-stdin", action="store_true",
                       help="read the passphrase from the first line of standard input")


def read_passphrase(args: argparse.Namespace, *, confirm: bool = False) -> str:
    """Return the passphrase from the environment, stdin or an interactive prompt."""
    if args.passphrase_env:
        value = os.environ.get(args.passphrase_env)
        if not value:
            raise ConfigurationError(
                f"environment variable {args.passphrase_env} is not set or empty"
            )
        return value
    if args.passphrase_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise ConfigurationError("no passphrase on standard input")
        return line
    if not sys.stdin.isatty():
        raise ConfigurationError(
            "no passphrase source: use --passphrase-env VAR or --passphrase-stdin"
        )
    value = getpass.getpass("Keyring passphrase: ")
    if confirm and getpass.getpass("Repeat passphrase: ") != value:
        raise ConfigurationError("the passphrases do not match")
    return value


def emit(args: argparse.Namespace, data: Any, human: str) -> None:
    """Print ``data`` as JSON on stdout with ``--format json``, else ``human``."""
    if getattr(args, "format", "text") == "json":
        json.dump(data, sys.stdout, ensure_ascii=False, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(human)


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--format {text,json}``."""
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format on stdout (default: text)")
