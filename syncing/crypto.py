"""Credentials at rest: MultiFernet over the keys in settings.FIELD_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so a new key can be put first and old rows
re-encrypted with `rotate_encryption_keys` before the old key is dropped.
"""

from __future__ import annotations

import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must hold Fernet keys (32 url-safe base64-encoded bytes)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


class EncryptedJSONField(models.TextField):
    """A dict stored as one Fernet token; the database never holds the plaintext."""

    description = "JSON encrypted with Fernet"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return {}
        try:
            return json.loads(fernet().decrypt(value.encode()))
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                "Stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEY; "
                "keep the old key in the list until rotate_encryption_keys has run."
            ) from exc

    def to_python(self, value):
        return value if isinstance(value, dict) else {}

    def get_prep_value(self, value):
        if not value:
            return ""
        return fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()

    def value_to_string(self, obj):
        # Serialisation (dumpdata) carries the ciphertext, never the secret.
        return self.get_prep_value(self.value_from_object(obj))


def rotate(token: str) -> str:
    """Re-encrypt one stored token under the newest key."""
    return fernet().rotate(token.encode()).decode() if token else token
