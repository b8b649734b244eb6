from decimal import Decimal

import pytest

from invoices.models import OutboxEntry, Sale
from invoices.services.outbox import NewSaleLine, record_sale
from syncing.models import Connection
from tests import factories


def test_sale_is_queued_once_for_each_linked_connection_that_takes_invoices(tenant, product):
    xero = factories.ConnectionFactory(tenant=tenant, provider="xero")
    sage = factories.ConnectionFactory(tenant=tenant, provider="sage")
    factories.ConnectionFactory(tenant=tenant, provider="xero", status=Connection.Status.DISABLED)
    factories.ConnectionFactory(tenant=tenant, provider="sage", status=Connection.Status.PENDING)
    factories.ConnectionFactory(provider="xero")  # another tenant's

    sale = record_sale(
        tenant=tenant,
        number="S-1",
        lines=[NewSaleLine(product=product, quantity=Decimal("2"), unit_price=Decimal("12.50"))],
    )

    entries = OutboxEntry.objects.filter(sale=sale)
    assert sorted(e.connection_id for e in entries) == sorted([xero.pk, sage.pk])
    assert {e.state for e in entries} == {OutboxEntry.State.PENDING}
    assert len({e.idempotency_key for e in entries}) == 2


def test_sale_totals_are_the_sum_of_its_lines(tenant, product):
    other = factories.ProductFactory(tenant=tenant)

    sale = record_sale(
        tenant=tenant,
        number="S-2",
        lines=[
            NewSaleLine(
                product=product,
                quantity=Decimal("2"),
                unit_price=Decimal("12.50"),
                tax_amount=Decimal("3.26"),
            ),
            NewSaleLine(
                product=other, quantity=Decimal("1"), unit_price=Decimal("10"), discount_rate=Decimal("10")
            ),
        ],
    )

    sale.refresh_from_db()
    assert (sale.total, sale.tax_total, sale.subtotal) == (
        Decimal("34.00"),
        Decimal("3.26"),
        Decimal("30.74"),
    )
    assert [line.description for line in sale.lines.order_by("pk")] == ["Blue mug", other.name]


def test_sale_with_another_tenants_product_is_refused(tenant, charlie):
    stranger = factories.ProductFactory(tenant=charlie.memberships.get().tenant)

    with pytest.raises(ValueError, match="another tenant"):
        record_sale(
            tenant=tenant,
            number="S-3",
            lines=[NewSaleLine(product=stranger, quantity=Decimal("1"), unit_price=Decimal("1"))],
        )

    assert not Sale.objects.exists()
