"""Reads for the outbox."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Min, Q

from invoices.models import OutboxEntry, Sale, SummarySale
from invoices.services.pacing import holds_for_batch, waiting_for_batch
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
    """Active connections with entries due, less those whose only due entries are new invoices
    waiting for their batch to fill (`invoices.services.pacing`). One query, and one more per
    connection whose batch is still filling."""
    waiting = waiting_for_batch()
    due = (
        OutboxEntry.objects.filter(due_filter(now), connection__status=Connection.Status.ACTIVE)
        .values("connection_id")
        .annotate(
            others=Count("pk", filter=~waiting),
            waiting=Count("pk", filter=waiting),
            oldest=Min("next_attempt_at", filter=waiting),
        )
        .order_by("connection_id")
    )
    ready, filling = [], {}
    for row in due:
        if row["others"]:
            ready.append(row["connection_id"])
        else:
            filling[row["connection_id"]] = row
    if filling:
        connections = Connection.objects.select_related("tenant").in_bulk(filling)
        for connection_id, row in filling.items():
            if not holds_for_batch(
                connections[connection_id], waiting=row["waiting"], oldest=row["oldest"], now=now
            ):
                ready.append(connection_id)
    return sorted(ready)
