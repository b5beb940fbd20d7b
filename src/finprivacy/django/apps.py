"""The Django app config: registers finprivacy's system checks."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["FinPrivacyConfig"]


class FinPrivacyConfig(AppConfig):
    """``INSTALLED_APPS = [..., "finprivacy.django"]``."""

    name = "finprivacy.django"
    label = "finprivacy"
    verbose_name = "finprivacy"

    def ready(self) -> None:
        """Register the system checks."""
        import finprivacy.django.checks  # noqa: F401 - registers on import
