"""Resolve store URLs to store objects without domain modules importing ``storage``.

Domain modules (consent, retention, audit, crypto) own the store Protocols they need.
``finprivacy.storage`` registers a factory per (domain, scheme) when it is imported
(:func:`open_store` imports it the first time a factory is missing, so the built-in
stores are always found), and a domain turns ``"sqlite:///app.db"`` into a store with
:func:`open_store`. Nothing here does I/O until a factory is called.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .errors import ConfigurationError, NotFoundError

__all__ = ["open_store", "redact_url", "register_exists", "register_store", "scheme_of",
           "sql_engine"]

_FACTORIES: dict[tuple[str, str], Callable[[str], Any]] = {}
_EXISTS: dict[str, Callable[[str, str], bool]] = {}


def scheme_of(url: str) -> str:
    """Return the scheme of a store URL: ``memory``, ``sqlite`` or ``postgresql``."""
    if not url or not isinstance(url, str):
        raise ConfigurationError("a store URL must be a non-empty string")
    if url in ("memory:", "memory://"):
        return "memory"
    head, sep, _ = url.partition(":")
    if not sep:
        raise ConfigurationError(
            "a store URL looks like 'memory:', 'sqlite:///path.db' or 'postgresql://…'"
        )
    head = head.lower()
    if head in ("postgres", "postgresql", "postgresql+psycopg"):
        return "postgresql"
    return head


def register_store(domain: str, scheme: str, factory: Callable[[str], Any]) -> None:
    """Register ``factory(url)`` as the way to open ``domain``'s store for ``scheme``."""
    _FACTORIES[(domain, scheme)] = factory


def register_exists(scheme: str, exists: Callable[[str, str], bool]) -> None:
    """Register ``exists(url, domain)``: whether a store is there, creating nothing."""
    _EXISTS[scheme] = exists


def open_store(domain: str, url: str, *, create: bool = True) -> Any:
    """Open the store of ``domain`` (e.g. ``"consent"``) named by ``url``.

    With ``create=False`` (for readers and verifiers) a store that does not exist yet
    raises :class:`~finprivacy.errors.NotFoundError` instead of being created empty.
    """
    scheme = scheme_of(url)
    factory = _FACTORIES.get((domain, scheme))
    if factory is None or (not create and scheme not in _EXISTS):
        # The built-in stores register themselves when finprivacy.storage is imported;
        # imported by name here, so domain modules never depend on storage.
        importlib.import_module("finprivacy.storage")
    try:
        factory = _FACTORIES[(domain, scheme)]
    except KeyError:
        known = sorted(s for d, s in _FACTORIES if d == domain)
        raise ConfigurationError(
            f"no {domain!r} store for URL scheme {scheme!r}; known schemes: {known}"
        ) from None
    if not create:
        exists = _EXISTS.get(scheme)
        if exists is None or not exists(url, domain):
            where = redact_url(url)
            raise NotFoundError(f"no {domain} store at {where}")
    return factory(url)


def redact_url(url: str) -> str:
    """Return ``url`` with its password, if any, replaced by ``***`` (for messages)."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if parts.password:
        return urllib.parse.urlunsplit(
            parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
    return url


def sql_engine(url: str, *, what: str) -> Any:
    """Return a SQLAlchemy engine for ``url`` (SQLite or PostgreSQL through psycopg 3).

    ``what`` names the task in the error when SQLAlchemy is missing. A ``sqlite:///``
    path that does not exist is :class:`NotFoundError` rather than a new, empty database;
    a plain ``postgresql://`` URL uses psycopg 3.
    """
    import os

    try:
        import sqlalchemy as sa
    except ImportError:
        raise ConfigurationError(f"{what} needs SQLAlchemy: "
                                 "pip install 'finprivacy[sqlalchemy]'") from None
    if url.startswith("sqlite:///") and not os.path.exists(url.removeprefix("sqlite:///")):
        raise NotFoundError(f"no SQLite database at {url.removeprefix('sqlite:///')}")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return sa.create_engine(url, hide_parameters=True)
