"""Recording a sale: the sale, its lines and one outbox entry per connection that takes invoices,
written in one transaction so a sale never exists without the entries that will carry it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from connectors.base import Capability
from invoices.models import OutboxEntry, Sale, SaleLine
from syncing.models import Connection, Customer, Product, Tenant

CENT = Decimal("0.01")


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
) -> Sale:
    """Store a sale and queue it for every active connection whose provider takes invoices.
    Example: `record_sale(tenant=t, number="S-1001", lines=[NewSaleLine(product=p, quantity=1,
    unit_price=Decimal("12.50"))])`."""
    if not lines:
        raise ValueError(f"Sale {number} has no lines.")
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
    targets = [
        connection
        for connection in Connection.objects.filter(tenant=tenant, status=Connection.Status.ACTIVE)
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
        )
        for row in rows:
            row.sale = sale
        SaleLine.objects.bulk_create(rows)
        OutboxEntry.objects.bulk_create(
            [
                OutboxEntry(sale=sale, connection=connection, next_attempt_at=sale.created_at)
                for connection in targets
            ]
        )
    return sale
