"""Opt-in pytest plugin: ``pytest_plugins = ["finprivacy.testing.pytest_plugin"]``.

Fixtures:

``pii_guard``
    Captures every log record emitted during the test and fails the test at teardown if
    any contains personal data (checksum-validated ID numbers, card numbers, IBANs,
    phone numbers, e-mail addresses …). Mark a test ``@pytest.mark.allow_pii`` to opt out.
``fp_keyring``
    A fresh in-memory :class:`finprivacy.Keyring`, made current for the test.
``fp_clock``
    A :class:`finprivacy.FixedClock` at 2024-01-01T00:00:00Z.

The failure message names kinds and positions, never the values. pytest itself still
prints a failing test's captured log lines; run CI with ``--show-capture=no`` so the
leak is not copied into your CI logs as well.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from typing import Any

import pytest

from ..clock import FixedClock
from ._assertions import LeakGuard

__all__ = ["fp_clock", "fp_fake", "fp_keyring", "pii_guard", "pytest_configure"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``allow_pii`` marker."""
    config.addinivalue_line("markers", "allow_pii: the test may log personal data")


@pytest.fixture
def pii_guard(request: pytest.FixtureRequest) -> Iterator[LeakGuard]:
    """Fail the test if anything it logs contains personal data."""
    __tracebackhide__ = True
    with LeakGuard() as guard:
        yield guard
        if request.node.get_closest_marker("allow_pii") is not None:
            guard.clear()


@pytest.fixture
def fp_clock() -> FixedClock:
    """Return a fixed clock at 2024-01-01T00:00:00Z."""
    return FixedClock(_dt.datetime(2024, 1, 1, tzinfo=_dt.UTC))


@pytest.fixture
def fp_keyring() -> Iterator[Any]:
    """Yield a freshly generated keyring, current for the duration of the test."""
    from ..crypto import Keyring, use_keyring

    kr = Keyring.generate()
    with use_keyring(kr):
        yield kr


@pytest.fixture
def fp_fake() -> Any:
    """Return a Faker seeded per test with :class:`~finprivacy.faker.FinPrivacyProvider`.

    Its ``cn_resident_id()``, ``cn_uscc()``, ``unionpay_card()``, ``cn_bank_account()``,
    ``cn_mobile()`` and ``iban()`` make checksum-valid synthetic identifiers; the test is
    skipped when Faker is not installed (``pip install 'finprivacy[faker]'``).
    """
    faker = pytest.importorskip("faker")
    from ..faker import FinPrivacyProvider

    fake = faker.Faker("zh_CN")
    fake.add_provider(FinPrivacyProvider)
    fake.seed_instance(20261207)
    return fake
