"""Housekeeping staff run by hand or on a schedule: pruning the call log, rotating encryption keys."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models.functions import Cast
from django.db.models.lookups import Exact
from django.utils import timezone

from syncing import crypto
from syncing.models import ApiCall, Connection, WebhookEndpoint

PRUNE_BATCH_SIZE = 5000


def prune_api_calls(*, older_than: timedelta, batch_size: int = PRUNE_BATCH_SIZE) -> int:
    """Delete ApiCall rows older than `older_than`, a batch at a time so no single statement
    holds the table for long; ApiUsage keeps the hourly counts. Returns the rows deleted."""
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        batch = list(
            ApiCall.objects.filter(at__lt=cutoff).order_by().values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            return deleted
        deleted += ApiCall.objects.filter(pk__in=batch).delete()[0]


def rotate_encryption_keys() -> int:
    """Re-encrypt every encrypted column (connection credentials, webhook endpoint secrets) under
    the newest key in FIELD_ENCRYPTION_KEYS, so older keys can then be removed. Returns the rows
    rewritten.

    Works on the stored ciphertext (never decrypting into a model), and each write is conditional
    on the ciphertext being unchanged: a token refreshed meanwhile was already written under the
    newest key and is left as it is.
    """
    return sum(
        _rotate_column(model, field.name)
        for model in (Connection, WebhookEndpoint)
        for field in model._meta.concrete_fields
        if isinstance(field, crypto.EncryptedJSONField)
    )


def _rotate_column(model: type[models.Model], column: str) -> int:
    raw = Cast(column, output_field=models.TextField())
    rotated = 0
    stored = (
        model.objects.exclude(**{column: ""})
        .annotate(ciphertext=raw)
        .order_by("pk")
        .values_list("pk", "ciphertext")
    )
    for pk, ciphertext in stored.iterator(chunk_size=500):
        rotated += model.objects.filter(Exact(raw, ciphertext), pk=pk).update(
            **{column: models.Value(crypto.rotate(ciphertext), output_field=models.TextField())}
        )
    return rotated
