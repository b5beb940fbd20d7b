"""finprivacy.consent."""

__all__: list[str] = []
