"""A Faker provider of checksum-valid synthetic identifiers, for test data.

>>> from faker import Faker
>>> from finprivacy.faker import FinPrivacyProvider
>>> fake = Faker()
>>> fake.add_provider(FinPrivacyProvider)
>>> fake.seed_instance(7)
>>> len(fake.cn_resident_id())
18

Every value passes finprivacy's own validators (and python-stdnum's, checked in the
tests): resident identity numbers (GB 11643, with region, birth date and sex
options), unified social credit codes (GB 32100, with a valid GB 11714 organisation
code inside), UnionPay card numbers (Luhn), bank account numbers, mainland mobile
numbers and IBANs of any registry country. The values are synthetic: a valid
checksum does not make them anyone's, but do not mail or call them.

Requires the ``faker`` extra (``pip install 'finprivacy[faker]'``). Values come from
the Faker instance's random generator, so ``seed_instance`` makes them reproducible.
"""

from __future__ import annotations

import datetime as _dt

from .errors import ConfigurationError
from .identifiers import bank_card, cn_id, cn_phone, iban
from .identifiers._checksums import (
    gb11643_check,
    gb32100_check,
    luhn_valid,
    mod97,
)

try:
    from faker.providers import BaseProvider
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("finprivacy.faker needs Faker: pip install 'finprivacy[faker]'"
                      ) from None

__all__ = ["FinPrivacyProvider"]

# Mobile network prefixes (MIIT numbering plan) that cn_phone accepts.
_MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150",
                    "151", "152", "155", "156", "157", "158", "159", "166", "175", "176",
                    "177", "178", "180", "181", "182", "183", "185", "186", "187", "188",
                    "189", "191", "198", "199")
# UnionPay BINs (62…) of some large issuers, 19 or 16 digits long.
_UNIONPAY_BINS = (("622202", 19), ("621700", 19), ("622848", 19), ("622588", 16),
                  ("621483", 16), ("622609", 16))
# County-level administrative codes (GB/T 2260), one or two per province: real places,
# so that region look-ups (python-stdnum's included) know them.
_COUNTIES = ("110101", "120101", "130102", "150102", "210102", "220102", "230102",
             "310101", "320102", "330102", "340102", "350102", "360102", "370102",
             "410102", "420102", "430102", "440103", "440305", "450102", "520102",
             "530102", "540102", "610102", "620102", "630102", "640121", "650102")
# Countries whose account part carries national check digits this provider does not
# compute: offered only when asked for by name (finprivacy checks the IBAN's own
# MOD 97-10 digits only; python-stdnum also checks these).
_NATIONAL_CHECKS = frozenset({"BE", "ES", "ME", "NO"})
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_BBAN_CLASSES = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                 "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _gb11714_check(body: str) -> str:
    """GB 11714-1997 check character of the 8-character organisation code body."""
    total = sum(_ORG_CHARS.index(c) * w for c, w in zip(body, _GB11714_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


class FinPrivacyProvider(BaseProvider):
    """Faker methods for identifiers that validate (see the module docstring)."""

    def _digits(self, n: int) -> str:
        return "".join(str(self.random_int(0, 9)) for _ in range(n))

    def cn_resident_id(self, *, region: str | None = None,
                       birth_date: _dt.date | None = None, sex: str | None = None) -> str:
        """Return an 18-character resident identity number with a valid check character.

        ``region`` is a 6-digit administrative code (default: a real county of a
        random province), ``birth_date`` a date (default: 1983–2005, when these codes
        were in use), ``sex`` ``"F"`` or ``"M"`` (the parity of the 17th digit; default
        random).
        """
        if region is None:
            region = self.random_element(_COUNTIES)
        if len(region) != 6 or not region.isdigit() or region[:2] not in cn_id.PROVINCES:
            raise ConfigurationError("region must be 6 digits starting with a province code")
        if birth_date is None:  # 1983-2005: codes in use then (region look-ups date them)
            birth_date = _dt.date(1983, 1, 1) + _dt.timedelta(days=self.random_int(0, 8400))
        if sex not in (None, "F", "M"):
            raise ConfigurationError("sex must be 'F', 'M' or None")
        order = self.random_int(0, 99)
        last = self.random_int(0, 9)
        if sex is not None and (last % 2 == 1) != (sex == "M"):
            last = (last + 1) % 10
        body = f"{region}{birth_date:%Y%m%d}{order:02d}{last}"
        return body + gb11643_check(body)

    def cn_uscc(self) -> str:
        """Return an 18-character unified social credit code (GB 32100) of a company."""
        region = self.random_element(_COUNTIES)
        org = "".join(self.random_element(_ORG_CHARS) for _ in range(8))
        body = f"91{region}{org}{_gb11714_check(org)}"
        return body + gb32100_check(body)

    def unionpay_card(self) -> str:
        """Return a UnionPay card number (62…, Luhn-valid), 16 or 19 digits."""
        bin_, length = self.random_element(_UNIONPAY_BINS)
        body = bin_ + self._digits(length - len(bin_) - 1)
        for check in "0123456789":
            if luhn_valid(body + check):
                number = body + check
                bank_card.validate(number)
                return number
        raise RuntimeError("unreachable: one check digit always fits")  # pragma: no cover

    def cn_bank_account(self, length: int = 19) -> str:
        """Return a mainland bank account number of ``length`` digits (10 to 25)."""
        if not 10 <= length <= 25:
            raise ConfigurationError("a bank account number has 10 to 25 digits")
        return str(self.random_int(1, 9)) + self._digits(length - 1)

    def cn_mobile(self) -> str:
        """Return an 11-digit mainland mobile number."""
        number = self.random_element(_MOBILE_PREFIXES) + self._digits(8)
        cn_phone.validate(number)
        return number

    def iban(self, country: str | None = None) -> str:
        """Return an IBAN (electronic format) of ``country``.

        The default is any registry country but those whose account part has national
        check digits (BE, ES, ME, NO), which are made only when named: their IBAN check
        digits are right, their national ones random.
        """
        if country is None:
            country = self.random_element(sorted(set(iban.BBAN_LAYOUTS) - _NATIONAL_CHECKS))
        layout = iban.BBAN_LAYOUTS.get(country)
        if layout is None:
            raise ConfigurationError(f"no IBAN format for {country!r}")
        bban = "".join(self.random_element(_BBAN_CLASSES[k]) for k in layout)
        check = 98 - mod97(bban + country + "00")
        return iban.validate(f"{country}{check:02d}{bban}")
