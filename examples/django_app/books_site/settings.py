"""Settings of the Django example: SQLite, finprivacy's app, middleware and keyring."""

import os
from pathlib import Path

import finprivacy as fp

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost"]
USE_TZ = True
ROOT_URLCONF = "books_site.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages",
                  "django.contrib.admin", "finprivacy.django", "books"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware",
              "finprivacy.django.middleware.FinPrivacyMiddleware"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": [
                  "django.template.context_processors.request",
                  "django.contrib.auth.context_processors.auth",
                  "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ.get("BOOKS_DB", str(BASE_DIR / "books.db"))}}

# A real deployment names its keyring file and provider:
#   FINPRIVACY = {"KEYRING_FILE": BASE_DIR / "keyring.json",
#                 "KEY_PROVIDER": {"kind": "environment", "var": "FINPRIVACY_KEK"}}
# The example makes a keyring in memory so that it runs anywhere.
FINPRIVACY = {"KEYRING": fp.Keyring.generate(), "BLIND_INDEX_BITS": 32}
