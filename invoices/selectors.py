"""Reads for the outbox."""

from __future__ import annotations

from datetime import datetime

from invoices.models import OutboxEntry
from invoices.services.posting import due_filter
from syncing.models import Connection


def connections_with_due_entries(now: datetime) -> list[int]:
    return list(
        OutboxEntry.objects.filter(due_filter(now), connection__status=Connection.Status.ACTIVE)
        .values_list("connection_id", flat=True)
        .distinct()
        .order_by("connection_id")
    )
