"""``finprivacy_reencrypt`` and ``finprivacy_reindex``."""

__all__: list[str] = []
