"""finprivacy.masking."""

__all__: list[str] = []
