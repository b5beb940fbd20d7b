"""finprivacy.access."""

__all__: list[str] = []
