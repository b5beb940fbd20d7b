"""Financial and personal identifiers: one module per identifier, one interface.

Every module has ``compact()`` (normalise: fold full-width characters, drop
separators), ``validate()`` (return the normalised value or raise a typed
:class:`~finprivacy.errors.InvalidIdentifierError` subclass whose message never
echoes the input), ``is_valid()`` and ``find(text)`` (yield :class:`Finding` spans),
in the style of python-stdnum, and a :class:`Recognizer` (``RECOGNIZER``) that tells
the scanner how to find it. Applications add their own kinds with
:func:`register_recognizer`. The checksums are written from their standards
(GB 11643, GB 32100, Luhn, ISO 7064 MOD 97-10) and cross-checked against
python-stdnum in the tests, so python-stdnum is not a dependency.

>>> from finprivacy.identifiers import bank_card
>>> bank_card.is_valid("6222 0202 0011 2233 446")
True
"""

from __future__ import annotations

from . import bank_card as bank_card
from . import cn_bank_account as cn_bank_account
from . import cn_id as cn_id
from . import cn_passport as cn_passport
from . import cn_phone as cn_phone
from . import cn_uscc as cn_uscc
from . import email as email
from . import iban as iban
from . import phone as phone
from . import us_ssn as us_ssn
from ._detect import DEFAULT_MIN_CONFIDENCE as DEFAULT_MIN_CONFIDENCE
from ._detect import KINDS as KINDS
from ._finding import Finding as Finding
from ._registry import Recognizer as Recognizer
from ._registry import known_kinds as known_kinds
from ._registry import mask_keep as mask_keep
from ._registry import recognizer as recognizer
from ._registry import recognizers as recognizers
from ._registry import register_recognizer as register_recognizer
from ._registry import unregister_recognizer as unregister_recognizer
from ._util import fold_width as fold_width

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "DEFAULT_MIN_CONFIDENCE",
    "Finding",
    "KINDS",
    "Recognizer",
    "bank_card",
    "cn_bank_account",
    "cn_id",
    "cn_passport",
    "cn_phone",
    "cn_uscc",
    "email",
    "fold_width",
    "iban",
    "known_kinds",
    "mask_keep",
    "phone",
    "recognizer",
    "recognizers",
    "register_recognizer",
    "unregister_recognizer",
    "us_ssn",
]
