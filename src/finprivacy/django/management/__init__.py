"""Management commands of finprivacy.django."""

__all__: list[str] = []
