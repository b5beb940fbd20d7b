"""finprivacy.retention."""

__all__: list[str] = []
