"""Fixtures for the outbox: emulators of the providers that take invoices, connections to them,
and a `sell` helper that records a sale the way the till does."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoices.services.outbox import NewSaleLine, record_sale
from tests import factories


@pytest.fixture
def xero(start_emulator):
    return start_emulator("xero")


@pytest.fixture
def xero_connection(xero, connect):
    # "200" is Sales in the emulator's chart of accounts, as in Xero's demo company.
    return connect(xero, "xero", sales_account_code="200")


@pytest.fixture
def sage(start_emulator):
    return start_emulator("sage")


@pytest.fixture
def sage_connection(sage, connect):
    return connect(sage, "sage", sales_account_code="4000")


@pytest.fixture
def sell(tenant):
    """`sell("S-1", product, quantity=2, price="12.50", customer=None)` -> the recorded Sale;
    `product` may be a Product or a list of them (one line each)."""

    def make(number, products, *, quantity=1, price="10.00", customer=None, tax_code=""):
        products = products if isinstance(products, list) else [products]
        lines = [
            NewSaleLine(product=p, quantity=Decimal(quantity), unit_price=Decimal(price), tax_code=tax_code)
            for p in products
        ]
        return record_sale(tenant=tenant, number=number, lines=lines, customer=customer)

    return make


@pytest.fixture
def product(tenant):
    return factories.ProductFactory(tenant=tenant, sku="MUG-1", name="Blue mug", sale_price=Decimal("10.00"))


@pytest.fixture
def mug_on_xero(xero, xero_connection, product):
    """The product already in Xero and linked, and a cash-sale contact chosen: posting a cash sale
    of it is exactly one invoice call."""
    remote_id = xero.add_product(code=product.sku, name=product.name, price=product.sale_price)
    factories.ProductLinkFactory(connection=xero_connection, product=product, remote_id=remote_id)
    xero_connection.cash_sale_contact_id = xero.add_customer(name="Counter sales")
    xero_connection.save()
    xero.reset_calls()
    return product
