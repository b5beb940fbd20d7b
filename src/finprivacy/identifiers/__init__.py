"""finprivacy.identifiers."""

__all__: list[str] = []
