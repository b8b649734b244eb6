"""Reads for the outbox."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from invoices.models import OutboxEntry, Sale, SummarySale
from invoices.services.posting import due_filter
from syncing.models import Connection


def entries_for_sale(sale: Sale) -> list[OutboxEntry]:
    """Every outbox entry that carries `sale` anywhere, by connection then in the order they were
    queued: its invoice or credit note and its payment, or the daily summary it is counted in and
    that summary's payment for the sale's payment method. One query, however many there are."""
    summaries = SummarySale.objects.filter(sale=sale).values("entry_id")
    concerns = Q(sale=sale) | Q(pk__in=summaries)
    if sale.paid:
        concerns |= Q(
            kind=OutboxEntry.Kind.PAYMENT,
            sale__isnull=True,
            depends_on__in=summaries,
            payment_method=sale.payment_method,
        )
    return list(
        OutboxEntry.objects.filter(concerns)
        .select_related("sale", "depends_on")
        .order_by("connection_id", "pk")
    )


def connections_with_due_entries(now: datetime) -> list[int]:
    return list(
        OutboxEntry.objects.filter(due_filter(now), connection__status=Connection.Status.ACTIVE)
        .values_list("connection_id", flat=True)
        .distinct()
        .order_by("connection_id")
    )
