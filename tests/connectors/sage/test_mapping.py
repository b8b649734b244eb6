"""Sage JSON <-> records, from the payloads in connectors/sage/samples/."""

import copy
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.errors import ProviderBug
from connectors.records import InvoiceDraft, InvoiceLineDraft, NewCustomer
from connectors.sage import mapping

SAMPLES = Path(mapping.__file__).with_name("samples")


def sample(name: str):
    return json.loads((SAMPLES / f"{name}.json").read_text())


def with_fields(data: dict, **changes) -> dict:
    edited = copy.deepcopy(data)
    edited.update(changes)
    return edited


def draft(*lines: InvoiceLineDraft, includes_tax: bool = False) -> InvoiceDraft:
    return InvoiceDraft(
        reference="S-000123",
        idempotency_key="0b7c6a38-5a2f-4a53-9c8e-3f0d2b1e4a77",
        customer_remote_id="c0ffee00c0ffee00c0ffee00c0ffee01",
        issued_on=date(2026, 11, 20),
        lines=lines,
        amounts_include_tax=includes_tax,
    )


def line(**fields) -> InvoiceLineDraft:
    values = {"description": "Oak chopping board", "quantity": Decimal("2"), "unit_price": Decimal("24.50")}
    return InvoiceLineDraft(**{**values, **fields})


def test_stock_item_becomes_a_product_priced_at_its_selling_price():
    product = mapping.product_from_stock_item(sample("stock_item"))
    assert product.remote_id == "8d5f0c3c9a2b4e6f9b1d2c3e4f5a6b7c"
    assert product.code == "SKU-00001"
    assert product.name == "Oak chopping board"
    assert product.sale_price == Decimal("24.5")
    assert product.tax_code == "GB_STANDARD"
    assert product.updated_at == datetime(2026, 11, 20, 16, 2, 41, tzinfo=UTC)
    assert product.active and not product.deleted


def test_named_selling_price_wins_over_the_first_price():
    data = sample("stock_item")
    trade = {"price_name": "Trade", "price": "19.0", "price_includes_tax": False}
    data["sales_prices"].insert(0, trade)
    assert mapping.product_from_stock_item(data).sale_price == Decimal("24.5")


def test_deleted_stock_item_is_a_deleted_inactive_product():
    product = mapping.product_from_stock_item(sample("stock_item_deleted"))
    assert product.deleted
    assert not product.active
    assert product.sale_price is None


def test_price_that_is_not_a_number_names_the_item_and_the_field():
    with pytest.raises(
        ProviderBug, match=r"Stock item 'SKU-00013': sales_prices\[0\]\.price is not a number"
    ):
        mapping.product_from_stock_item(sample("stock_item_price_not_a_number"))


def test_list_item_without_attributes_is_refused_for_its_missing_code():
    listed = sample("stock_items_last_page")["$items"][0]
    with pytest.raises(ProviderBug, match="item_code is missing"):
        mapping.product_from_stock_item(listed)


def test_stock_item_gives_one_stock_position():
    stock = mapping.stock_from_stock_item(sample("stock_item"))
    assert stock.product_remote_id == "8d5f0c3c9a2b4e6f9b1d2c3e4f5a6b7c"
    assert stock.location_remote_id == mapping.STOCK_LOCATION_ID
    assert stock.quantity == Decimal("42.0")


def test_last_page_is_the_one_whose_next_is_null():
    page = mapping.list_page(sample("stock_items_last_page"), resource="stock_items")
    assert not page.has_next
    assert page.total == 3
    assert len(page.items) == 1
    assert mapping.list_page(
        with_fields(sample("stock_items_last_page"), **{"$next": "/x?page=3"}), resource="x"
    ).has_next


def test_contact_reference_is_the_account_number():
    customer = mapping.customer_from_contact(sample("contact"))
    assert customer.account_number == "HARB001"
    assert customer.email == "accounts@harbourdeli.example"
    assert customer.phone == "01632 960001"
    assert customer.active


def test_contact_without_email_has_an_empty_email():
    assert mapping.customer_from_contact(sample("contact_without_email")).email == ""


def test_contact_with_a_numeric_name_names_the_contact_and_the_field():
    with pytest.raises(ProviderBug, match="Contact 'HARB001': name is not a string"):
        mapping.customer_from_contact(with_fields(sample("contact"), name=42))


def test_error_array_gives_each_message_with_its_field():
    messages = mapping.error_messages(sample("sales_invoice_refused"))
    assert messages == [
        "Contact is invalid (contact)",
        "Tax Amount is required for this tax rate (invoice_lines.0.tax_amount)",
    ]


def test_idempotency_id_of_a_uuid_key_is_its_hyphenless_hex():
    key = uuid.uuid4()
    assert mapping.idempotency_id(str(key)) == key.hex


def test_idempotency_id_of_any_other_key_is_stable_32_hex():
    first = mapping.idempotency_id("outbox-entry-17")
    assert first == mapping.idempotency_id("outbox-entry-17")
    assert first != mapping.idempotency_id("outbox-entry-18")
    assert len(first) == 32
    int(first, 16)


def test_invoice_body_is_wrapped_and_names_contact_accounts_and_rates():
    body = mapping.sales_invoice_body(
        draft(line(account_code="4000", tax_code="GB_STANDARD", product_remote_id="p1")),
        tax_percentages={"GB_STANDARD": Decimal("20")},
        ledger_accounts={"4000": "9a0b1c2d3e4f4a5b8c6d7e8f9a0b1c2d"},
    )
    invoice = body["sales_invoice"]
    assert invoice["contact"] == {"id": "c0ffee00c0ffee00c0ffee00c0ffee01"}
    assert invoice["date"] == "2026-11-20"
    assert invoice["reference"] == "S-000123"
    assert invoice["idempotency_id"] == "0b7c6a385a2f4a539c8e3f0d2b1e4a77"
    [sent] = invoice["invoice_lines"]
    assert sent["ledger_account"] == {"id": "9a0b1c2d3e4f4a5b8c6d7e8f9a0b1c2d"}
    assert sent["tax_rate"] == {"id": "GB_STANDARD"}
    assert sent["tax_amount"] == "9.80"
    assert sent["unit_price"] == "24.50"
    assert sent["product"] == {"id": "p1"}


def test_tax_inside_a_tax_inclusive_price_is_the_fraction_of_the_gross():
    body = mapping.sales_invoice_body(
        draft(
            line(quantity=Decimal("1"), unit_price=Decimal("12.00"), tax_code="GB_STANDARD"),
            includes_tax=True,
        ),
        tax_percentages={"GB_STANDARD": Decimal("20")},
        ledger_accounts={},
    )
    assert body["sales_invoice"]["invoice_lines"][0]["tax_amount"] == "2.00"


def test_account_code_that_is_not_a_nominal_code_is_sent_as_the_id():
    body = mapping.sales_invoice_body(
        draft(line(account_code="9a0b1c2d3e4f4a5b8c6d7e8f9a0b1c2d")), tax_percentages={}, ledger_accounts={}
    )
    assert body["sales_invoice"]["invoice_lines"][0]["ledger_account"] == {
        "id": "9a0b1c2d3e4f4a5b8c6d7e8f9a0b1c2d"
    }


def test_posted_invoice_response_becomes_a_result():
    result = mapping.invoice_result(draft(line()), sample("sales_invoice"))
    assert result.ok
    assert result.invoice.remote_id == "5a1e5a1e5a1e4a1e8a1e5a1e5a1e5a1e"
    assert result.invoice.number == "SI-12"
    assert result.invoice.total == Decimal("58.8")
    assert result.invoice.status == "UNPAID"


def test_new_customer_is_a_customer_contact_with_its_reference():
    body = mapping.contact_body(
        NewCustomer(name="Harbour Deli Ltd", email="a@example.com", account_number="HARB001"),
        idempotency_key="outbox-9",
    )
    contact = body["contact"]
    assert contact["contact_type_ids"] == ["CUSTOMER"]
    assert contact["reference"] == "HARB001"
    assert contact["email"] == "a@example.com"
    assert len(contact["idempotency_id"]) == 32
