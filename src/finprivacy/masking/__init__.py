"""finprivacy.masking: mask presets, detection in text and redaction of structures.

* :func:`mask` shows part of one identifier with a named, cited preset; :func:`masker`
  binds a kind and preset once for a loop over many values.
* :func:`scan` finds identifiers in free text (Chinese and English), checksum-validated.
* :func:`redact` masks every finding in text, and sensitive fields (by key name and by
  value) in dicts, lists, JSON documents, pydantic models and dataclasses.
* :func:`mask_field` and :func:`kind_for_field` mask one named field.
"""

from __future__ import annotations

from ..identifiers import DEFAULT_MIN_CONFIDENCE as DEFAULT_MIN_CONFIDENCE
from ..identifiers import KINDS as KINDS
from ..identifiers import Finding as Finding
from ._mask import COMPOUND_SURNAMES as COMPOUND_SURNAMES
from ._mask import DEFAULT_PRESETS as DEFAULT_PRESETS
from ._mask import MASK_KINDS as MASK_KINDS
from ._mask import PRESETS as PRESETS
from ._mask import Preset as Preset
from ._mask import SliceSpec as SliceSpec
from ._mask import bind_mask as bind_mask
from ._mask import mask as mask
from ._mask import masker as masker
from ._mask import preset_for as preset_for
from ._mask import slice_spec as slice_spec
from ._mask import unmask_ff1 as unmask_ff1
from ._redact import FIELD_KINDS as FIELD_KINDS
from ._redact import kind_for_field as kind_for_field
from ._redact import mask_field as mask_field
from ._redact import redact as redact
from ._redact import redact_json as redact_json
from ._redact import redact_text as redact_text
from ._scan import scan as scan

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "COMPOUND_SURNAMES",
    "DEFAULT_MIN_CONFIDENCE",
    "DEFAULT_PRESETS",
    "FIELD_KINDS",
    "Finding",
    "KINDS",
    "MASK_KINDS",
    "PRESETS",
    "Preset",
    "SliceSpec",
    "bind_mask",
    "kind_for_field",
    "mask",
    "mask_field",
    "masker",
    "preset_for",
    "redact",
    "redact_json",
    "redact_text",
    "scan",
    "slice_spec",
    "unmask_ff1",
]
