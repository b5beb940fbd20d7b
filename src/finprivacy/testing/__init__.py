"""Helpers for your own test suite: prove your system does not leak personal data.

>>> from finprivacy.testing import assert_no_pii
>>> assert_no_pii("invoice INV-2024-0001 paid, amount 1,280.00")

The pytest plugin is opt-in (it is not registered through an entry point, so it never
loads into test runs that did not ask for it). Enable it in your ``conftest.py``::

    pytest_plugins = ["finprivacy.testing.pytest_plugin"]

It provides the ``pii_guard`` fixture (fails the test when captured log output contains
personal data), ``fp_keyring`` and ``fp_clock`` fixtures, and the ``allow_pii`` marker.
"""

from __future__ import annotations

from ._assertions import LeakGuard as LeakGuard
from ._assertions import PIILeakError as PIILeakError
from ._assertions import assert_no_pii as assert_no_pii
from ._assertions import assert_not_leaked as assert_not_leaked
from ._assertions import find_pii as find_pii

__all__ = ["LeakGuard", "PIILeakError", "assert_no_pii", "assert_not_leaked", "find_pii"]
