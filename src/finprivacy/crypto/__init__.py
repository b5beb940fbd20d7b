"""finprivacy.crypto."""

from ._ff1 import FF1 as FF1
from ._fpe_card import CardTokenizer as CardTokenizer
from ._fpe_card import luhn_valid as luhn_valid

__all__: list[str] = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "CardTokenizer",
    "FF1",
    "luhn_valid",
]
