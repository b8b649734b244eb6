"""Recording a sale: the sale, its lines and the outbox entries that will carry it to every
connection that takes invoices, written in one transaction so a sale never exists without them.

Per connection, a sale becomes an invoice entry (detailed posting) or joins the connection's open
summary for its business day (daily-summary posting); a refund becomes a credit note entry in
either mode, since a summary invoice cannot go below zero. A paid sale adds a payment entry that
waits for its document: its own, or the summary's payment for its payment method.

Daily summaries. A day's summary takes sales until a worker first claims it (after the day ends in
the tenant's time zone, plus `DAILY_SUMMARY_GRACE_MINUTES`); from then on its contents are fixed.
A sale for that day arriving later opens a supplementary summary (sequence 2, 3, ...), a second
invoice. Joining locks the open summary row (PostgreSQL `SELECT ... FOR UPDATE`; on SQLite the
transaction already holds the write lock), and the claim skips locked rows and clears
`accepting_sales` in the same transaction, so a sale either joins before the claim or opens the
next summary: `SummarySale`'s (sale, connection) uniqueness makes sure it is counted once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Count, Max, Q
from django.utils import timezone

from connectors.base import Capability
from invoices.models import OutboxEntry, Sale, SaleLine, SummarySale
from syncing.models import Connection, Customer, Product, Tenant

CENT = Decimal("0.01")
Kind = OutboxEntry.Kind
TAKES_SALES = (Connection.Status.ACTIVE, Connection.Status.NEEDS_REAUTH)


def summary_grace() -> timedelta:
    """How long after a day ends its summary waits for sales rung up that day to arrive."""
    return timedelta(minutes=settings.DAILY_SUMMARY_GRACE_MINUTES)


@dataclass(frozen=True)
class NewSaleLine:
    """One line as the till rang it up: unit prices include tax, as a shop's shelf prices do."""

    product: Product
    quantity: Decimal
    unit_price: Decimal
    description: str = ""
    tax_code: str = ""
    tax_amount: Decimal = Decimal("0")
    discount_rate: Decimal = Decimal("0")


def record_sale(
    *,
    tenant: Tenant,
    number: str,
    lines: Sequence[NewSaleLine],
    customer: Customer | None = None,
    sold_at: datetime | None = None,
    payment_method: str = "",
    paid: bool = False,
    refund_of: Sale | None = None,
) -> Sale:
    """Store a sale and queue it for every linked connection whose provider takes invoices (one
    awaiting reconnection included: its entries wait for it).
    Example: `record_sale(tenant=t, number="S-1001", lines=[NewSaleLine(product=p, quantity=1,
    unit_price=Decimal("12.50"))])`. A refund names the sale it refunds (`refund_of`), with the
    returned goods as positive lines."""
    if not lines:
        raise ValueError(f"Sale {number} has no lines.")
    if refund_of is not None and refund_of.tenant_id != tenant.pk:
        raise ValueError(f"Sale {refund_of.number} belongs to another tenant.")
    if customer is not None and customer.tenant_id != tenant.pk:
        raise ValueError(f"Customer {customer.pk} belongs to another tenant.")
    if any(line.product.tenant_id != tenant.pk for line in lines):
        raise ValueError(f"Sale {number} names a product of another tenant.")
    rows = [
        SaleLine(
            product=line.product,
            description=line.description or line.product.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_code=line.tax_code or line.product.tax_code,
            tax_amount=line.tax_amount,
            discount_rate=line.discount_rate,
        )
        for line in lines
    ]
    total = sum((row.net_amount for row in rows), Decimal("0")).quantize(CENT)
    tax_total = sum((row.tax_amount for row in rows), Decimal("0")).quantize(CENT)
    # A connection waiting for the merchant to reconnect still gets the sale: its entries wait
    # and post once it is active again. Only one never linked or disconnected is left out.
    targets = [
        connection
        for connection in Connection.objects.filter(tenant=tenant, status__in=TAKES_SALES)
        if connection.spec.can(Capability.POST_INVOICES)
    ]
    with transaction.atomic():
        sale = Sale.objects.create(
            tenant=tenant,
            number=number,
            sold_at=sold_at or timezone.now(),
            customer=customer,
            payment_method=payment_method,
            paid=paid,
            subtotal=total - tax_total,
            tax_total=tax_total,
            total=total,
            refund_of=refund_of,
        )
        for row in rows:
            row.sale = sale
        SaleLine.objects.bulk_create(rows)
        _queue(sale, targets)
    return sale


def _queue(sale: Sale, targets: Sequence[Connection]) -> None:
    documents = []
    for connection in targets:
        if sale.refund_of_id is not None:
            # A provider without credit notes is not sent refunds at all (its spec says so).
            if connection.spec.can(Capability.POST_CREDIT_NOTES):
                documents.append(_entry(Kind.CREDIT_NOTE, sale, connection))
        elif connection.posting_mode == Connection.PostingMode.DAILY_SUMMARY:
            summary = join_daily_summary(connection=connection, sale=sale)
            if sale.paid and connection.spec.can(Capability.POST_PAYMENTS):
                OutboxEntry.objects.get_or_create(
                    kind=Kind.PAYMENT,
                    depends_on=summary,
                    sale=None,
                    payment_method=sale.payment_method,
                    defaults={"connection": connection, "next_attempt_at": summary.next_attempt_at},
                )
        else:
            documents.append(_entry(Kind.INVOICE, sale, connection))
    OutboxEntry.objects.bulk_create(documents)
    if sale.paid:
        OutboxEntry.objects.bulk_create(
            [
                _entry(Kind.PAYMENT, sale, document.connection, depends_on=document)
                for document in documents
                if document.connection.spec.can(Capability.POST_PAYMENTS)
            ]
        )


def _entry(kind: str, sale: Sale, connection: Connection, **fields) -> OutboxEntry:
    payment_method = sale.payment_method if kind == Kind.PAYMENT else ""
    return OutboxEntry(
        kind=kind,
        sale=sale,
        connection=connection,
        payment_method=payment_method,
        next_attempt_at=sale.created_at,
        **fields,
    )


def business_day(moment: datetime, tenant: Tenant) -> date:
    return moment.astimezone(ZoneInfo(tenant.timezone)).date()


def join_daily_summary(*, connection: Connection, sale: Sale) -> OutboxEntry:
    """Count `sale` in `connection`'s open summary for the sale's business day, opening one (or a
    supplementary one, when the day's summary is already posting) if there is none. Runs inside
    the caller's transaction."""
    day = business_day(sale.sold_at, connection.tenant)
    for _ in range(5):
        summary = _open_summary(connection, day)
        if summary is None:
            try:
                with transaction.atomic():
                    summary = _new_summary(connection, day)
            except IntegrityError:
                # Another sale opened this summary at the same moment: join theirs.
                continue
            if summary is None:
                continue
        SummarySale.objects.create(entry=summary, sale=sale, connection=connection)
        return summary
    raise RuntimeError(f"Could not open a daily summary for {day} on connection {connection.pk}.")


def _open_summary(connection: Connection, day: date) -> OutboxEntry | None:
    candidates = OutboxEntry.objects.filter(
        connection=connection, kind=Kind.DAILY_SUMMARY, business_day=day, accepting_sales=True
    )
    if db_connection.features.has_select_for_update:
        candidates = candidates.select_for_update()
    return candidates.order_by("-sequence").first()


def _new_summary(connection: Connection, day: date) -> OutboxEntry | None:
    """The day's next summary, or None when one opened since we looked (join that one instead).
    Both answers come from one statement, so they agree; two sales opening the same sequence at
    once collide on the unique constraint and the loser joins the winner's."""
    zone = ZoneInfo(connection.tenant.timezone)
    closes_at = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone) + summary_grace()
    seen = OutboxEntry.objects.filter(
        connection=connection, kind=Kind.DAILY_SUMMARY, business_day=day
    ).aggregate(last=Max("sequence"), open=Count("pk", filter=Q(accepting_sales=True)))
    if seen["open"]:
        return None
    last = seen["last"]
    # A supplementary summary waits a grace period of its own, so late sales arriving together
    # make one invoice rather than one each.
    due = closes_at if last is None else max(closes_at, timezone.now() + summary_grace())
    return OutboxEntry.objects.create(
        kind=Kind.DAILY_SUMMARY,
        connection=connection,
        business_day=day,
        sequence=(last or 0) + 1,
        accepting_sales=True,
        next_attempt_at=due,
    )


def queue_missing_sales(*, connection: Connection, start: datetime, end: datetime) -> int:
    """Queue for `connection` the tenant's sales sold in [start, end) that have nothing queued
    for it yet (a backfill: sales recorded before it was connected); returns how many."""
    sales = (
        Sale.objects.filter(tenant_id=connection.tenant_id, sold_at__gte=start, sold_at__lt=end)
        .exclude(outbox_entries__connection=connection)
        .exclude(summary_memberships__connection=connection)
        .order_by("sold_at", "pk")
    )
    queued = 0
    for sale in sales:
        with transaction.atomic():
            _queue(sale, [connection])
        queued += 1
    return queued
