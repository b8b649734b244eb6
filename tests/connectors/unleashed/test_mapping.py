"""Unleashed JSON <-> records, from the recorded samples."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.errors import ProviderBug
from connectors.records import InvoiceDraft, InvoiceLineDraft, NewCustomer
from connectors.unleashed import mapping

SAMPLES = Path(mapping.__file__).with_name("samples")


def sample(name: str):
    return json.loads((SAMPLES / f"{name}.json").read_text())


def test_product_maps_code_description_price_and_change_time():
    product = mapping.product_from_unleashed(sample("product"))
    assert (product.remote_id, product.code, product.name) == (
        "3f0b1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "WIDGET-RED",
        "Red widget, boxed",
    )
    assert (product.sale_price, product.purchase_price) == (Decimal("24.5"), Decimal("11.2"))
    assert product.updated_at == datetime(2025, 11, 2, 0, 0, 0, 123000, tzinfo=UTC)
    assert (product.active, product.deleted, product.tracks_stock) == (True, False, True)


def test_obsolete_product_is_inactive_and_deleted():
    product = mapping.product_from_unleashed(sample("product_obsolete"))
    assert (product.active, product.deleted) == (False, True)


def test_price_that_is_not_a_number_names_the_product_and_field():
    with pytest.raises(ProviderBug, match=r"Product 'WIDGET-BAD': DefaultSellPrice is not a number"):
        mapping.product_from_unleashed(sample("product_price_not_a_number"))


def test_product_without_a_code_names_the_guid_and_field():
    with pytest.raises(ProviderBug, match=r"Product '1d2e3f4a-[0-9a-f-]+': ProductCode is missing"):
        mapping.product_from_unleashed(sample("product_without_code"))


def test_last_page_is_told_by_its_number():
    page = mapping.list_page(sample("products_last_page"), resource="Products")
    assert (page.page_number, page.number_of_pages, page.is_last, len(page.items)) == (2, 2, True, 2)


def test_list_without_pagination_is_a_provider_bug():
    with pytest.raises(ProviderBug, match=r"Products list: Pagination\.PageNumber is missing"):
        mapping.list_page({"Items": []}, resource="Products")


def test_stock_on_hand_names_its_warehouse_by_code():
    [item] = sample("stock_on_hand")["Items"]
    stock = mapping.stock_from_unleashed(item)
    assert (stock.product_remote_id, stock.location_remote_id, stock.location_name, stock.quantity) == (
        "3f0b1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "MAIN",
        "Main Warehouse",
        Decimal("17.0"),
    )


def test_customer_code_is_the_account_number():
    customer = mapping.customer_from_unleashed(sample("customer"))
    assert (customer.name, customer.email, customer.account_number) == (
        "Acme Trading Ltd",
        "accounts@acme.example",
        "ACME",
    )


def test_customer_without_email_maps_to_an_empty_email():
    assert mapping.customer_from_unleashed(sample("customer_without_email")).email == ""


def test_new_customer_without_account_number_gets_a_code_from_its_guid():
    body = mapping.customer_to_unleashed(
        NewCustomer(name="Cash sales"), guid="abcdef12-0000-4000-8000-000000000000"
    )
    assert body["CustomerCode"] == "C-ABCDEF12"


def test_draft_becomes_a_sales_order_under_a_guid_from_its_idempotency_key():
    draft = InvoiceDraft(
        reference="SALE-1001",
        idempotency_key="outbox-17",
        customer_remote_id="4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d",
        issued_on=date(2026, 11, 2),
        lines=(
            InvoiceLineDraft(
                description="Red widget",
                quantity=Decimal("2"),
                unit_price=Decimal("24.50"),
                product_remote_id="3f0b1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                discount_rate=Decimal("20"),
            ),
        ),
    )
    guid, body = mapping.sales_order_from_draft(draft)
    assert guid == mapping.sales_order_from_draft(draft)[0] == body["Guid"]
    assert guid != mapping.sales_order_from_draft(replace(draft, idempotency_key="x"))[0]
    assert (body["OrderNumber"], body["SourceId"], body["Customer"]) == (
        "SALE-1001",
        "SALE-1001",
        {"Guid": "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d"},
    )
    [line] = body["SalesOrderLines"]
    assert line["Product"] == {"Guid": "3f0b1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
    assert (line["OrderQuantity"], line["UnitPrice"], line["DiscountRate"], line["LineTotal"]) == (
        2,
        24.5,
        0.2,
        39.2,
    )
    assert body["OrderDate"] == "/Date(1793577600000)/"
    assert body["Total"] == 39.2


def test_sales_order_answer_becomes_the_posted_invoice():
    invoice = mapping.invoice_from_sales_order(sample("sales_order"))
    assert (invoice.remote_id, invoice.reference, invoice.number, invoice.total) == (
        "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b",
        "SALE-1001",
        "SALE-1001",
        Decimal("49.0"),
    )


def test_refusal_gives_one_message_per_field_error():
    assert mapping.error_messages(sample("sales_order_refused")) == ["Customer: Customer does not exist"]
