"""Lightspeed X-Series JSON <-> records, from the recorded samples."""

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.errors import ProviderBug, ValidationFailed
from connectors.records import InvoiceDraft, InvoiceLineDraft, NewCustomer
from connectors.vend import mapping

SAMPLES = Path(mapping.__file__).with_name("samples")


def sample(name: str):
    return json.loads((SAMPLES / name).read_text())


def draft(**changes) -> InvoiceDraft:
    fields = {
        "reference": "SALE-1001",
        "idempotency_key": "outbox-entry-17",
        "customer_remote_id": "0adaafb3-6583-11e5-fb60-c34e1b5c4f6a",
        "issued_on": date(2026, 11, 2),
        "lines": (
            InvoiceLineDraft(
                description="Ceramic Pour-Over Cup",
                quantity=Decimal("2"),
                unit_price=Decimal("24.95"),
                product_remote_id="0adfd74a-153e-11e9-fa42-67b5781ba1fb",
            ),
        ),
    }
    return InvoiceDraft(**{**fields, **changes})


def test_product_maps_sku_price_and_version():
    product = mapping.product_from_json(sample("product.json"))
    assert (product.remote_id, product.code, product.name) == (
        "0adfd74a-153e-11e9-fa42-67b5781ba1fb",
        "SKU-10001",
        "Ceramic Pour-Over Cup",
    )
    assert product.sale_price == Decimal("24.95")
    assert product.purchase_price == Decimal("11.2")
    assert product.version == "7321098"
    assert product.updated_at == datetime(2026, 11, 2, 14, 3, 27, tzinfo=UTC)
    assert product.active and not product.deleted and product.tracks_stock


def test_product_with_deleted_at_is_deleted_and_inactive():
    product = mapping.product_from_json(sample("product_deleted.json"))
    assert product.deleted
    assert not product.active


def test_price_that_is_not_a_number_names_the_product_and_field():
    with pytest.raises(
        ProviderBug, match=r"Lightspeed product 'SKU-10003': price_excluding_tax is not a number"
    ):
        mapping.product_from_json(sample("product_price_not_a_number.json"))


def test_product_with_price_and_version_as_text_reads_the_numbers_they_spell():
    data = sample("product.json") | {"price_excluding_tax": " 24.95", "version": "7321098"}
    product = mapping.product_from_json(data)
    assert (product.sale_price, product.version) == (Decimal("24.95"), "7321098")


def test_product_without_sku_names_the_missing_field():
    data = sample("product.json")
    del data["sku"]
    with pytest.raises(ProviderBug, match=r"sku is missing"):
        mapping.product_from_json(data)


def test_feed_page_gives_records_and_the_next_cursor():
    page = mapping.feed_page(sample("products_page.json"), resource="Lightspeed products")
    assert [item["sku"] for item in page.items] == ["SKU-10001", "SKU-10002"]
    assert page.max_version == 7321144


def test_empty_feed_page_has_no_cursor():
    page = mapping.feed_page(sample("products_end.json"), resource="Lightspeed products")
    assert page.items == []
    assert page.max_version is None


def test_feed_page_without_version_max_is_a_provider_bug():
    data = sample("products_page.json")
    data["version"] = {"min": 7321098}
    with pytest.raises(ProviderBug, match=r"version.max is missing"):
        mapping.feed_page(data, resource="Lightspeed products")


def test_inventory_record_maps_outlet_and_level():
    stock = mapping.stock_from_json(sample("inventory.json"))
    assert stock.product_remote_id == "0adfd74a-153e-11e9-fa42-67b5781ba1fb"
    assert stock.location_remote_id == "0adaafb3-6583-11e5-fb60-c34e1a6a4d7c"
    assert stock.quantity == Decimal("14")
    assert stock.version == "7321187"


def test_deleted_inventory_record_has_nothing_on_hand():
    data = {**sample("inventory.json"), "deleted_at": "2026-11-03T10:21:05+00:00"}
    assert mapping.stock_from_json(data).quantity == Decimal(0)


def test_inventory_without_a_level_names_the_field():
    with pytest.raises(ProviderBug, match=r"inventory record '.*': current_amount is missing"):
        mapping.stock_from_json(sample("inventory_level_missing.json"))


def test_customer_code_becomes_the_account_number():
    customer = mapping.customer_from_json(sample("customer.json"))
    assert customer.account_number == "HARB-0042"
    assert customer.name == "Harbour Cafe"
    assert customer.email == "orders@harbourcafe.example"
    assert (customer.first_name, customer.last_name) == ("Mia", "Tane")


def test_customer_without_email_or_company_is_named_after_the_person():
    customer = mapping.customer_from_json(sample("customer_without_email.json"))
    assert customer.email == ""
    assert customer.name == "Sam Ruru"
    assert customer.phone == "+64 21 555 0199"


def test_new_customer_name_is_sent_as_company_name():
    body = mapping.customer_to_json(
        NewCustomer(name="Harbour Cafe", email="a@b.example", account_number="H-1")
    )
    assert body == {"company_name": "Harbour Cafe", "email": "a@b.example", "customer_code": "H-1"}


def test_sale_id_is_the_same_for_the_same_idempotency_key():
    first = mapping.sale_to_json(draft())["id"]
    assert mapping.sale_to_json(draft())["id"] == first
    assert mapping.sale_to_json(draft(idempotency_key="outbox-entry-18"))["id"] != first
    assert uuid.UUID(first)


def test_uuid_idempotency_key_is_used_as_the_sale_id():
    key = str(uuid.uuid4())
    assert mapping.sale_to_json(draft(idempotency_key=key))["id"] == key


def test_sale_lines_carry_product_quantity_and_discounted_price():
    line = InvoiceLineDraft(
        description="Cup",
        quantity=Decimal("3"),
        unit_price=Decimal("20.00"),
        product_remote_id="p-1",
        tax_code="tax-15",
        discount_rate=Decimal("10"),
    )
    body = mapping.sale_to_json(draft(lines=(line,)))
    assert body["line_items"] == [
        {"product": {"id": "p-1"}, "quantity": 3.0, "pricing": {"price": 18.0}, "tax": {"id": "tax-15"}}
    ]
    assert body["customer_id"] == "0adaafb3-6583-11e5-fb60-c34e1b5c4f6a"
    assert body["invoice_number"] == "SALE-1001"


def test_sale_line_without_a_product_is_refused_before_sending():
    line = InvoiceLineDraft(description="Gift wrap", quantity=Decimal("1"), unit_price=Decimal("2"))
    with pytest.raises(ValidationFailed, match=r"SALE-1001 line 1 \(Gift wrap\)"):
        mapping.sale_to_json(draft(lines=(line,)))


def test_created_sale_becomes_an_invoice_result_with_tax_in_the_total():
    result = mapping.invoice_result(draft(), sample("sale_created.json"))
    assert result.ok
    assert result.invoice.remote_id == "6d4f4e2c-8b0e-5c6a-9f7e-2f1c9a3e7b10"
    assert result.invoice.reference == "SALE-1001"
    assert result.invoice.total == Decimal("57.39")


def test_sale_answer_without_data_is_a_provider_bug():
    with pytest.raises(ProviderBug, match=r"Lightspeed sale: data is missing"):
        mapping.invoice_result(draft(), sample("sale_refused.json"))
