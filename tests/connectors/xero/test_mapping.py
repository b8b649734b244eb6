"""Xero JSON -> records, read from the samples transcribed from Xero's documentation."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.errors import ProviderBug
from connectors.records import InvoiceDraft, InvoiceLineDraft, NewCustomer
from connectors.xero import mapping

SAMPLES = Path(__file__).resolve().parents[3] / "connectors" / "xero" / "samples"


def sample(name: str):
    return json.loads((SAMPLES / name).read_text())


def draft(reference: str, **fields) -> InvoiceDraft:
    line = InvoiceLineDraft(
        description="Plectrum pack", quantity=Decimal("2"), unit_price=Decimal("4.50"), product_code="PICK-10"
    )
    return InvoiceDraft(
        reference=reference,
        idempotency_key=f"key-{reference}",
        customer_remote_id="bd2270c3-8706-4c11-9cfb-000b551c3f51",
        issued_on=date(2026, 11, 2),
        lines=(line,),
        **fields,
    )


def test_item_becomes_a_product_with_its_sales_price_and_update_time():
    product = mapping.item_to_product(sample("items.json")["Items"][0])
    assert product.remote_id == "c8c54d65-f3f2-452d-926e-bf450b12fb07"
    assert product.code == "GTR-STRAT"
    assert product.sale_price == Decimal("5000")
    assert product.tax_code == "OUTPUT2"
    assert product.tracks_stock is False
    assert product.updated_at == datetime(2019, 3, 7, 17, 57, 56, 267000, tzinfo=UTC)


def test_item_without_sales_details_has_no_price():
    product = mapping.item_to_product(sample("item_without_sales_details.json"))
    assert product.sale_price is None
    assert product.code == "SERVICE-1"


def test_item_with_a_price_that_is_not_a_number_names_the_item_and_field():
    with pytest.raises(ProviderBug, match=r"Item 'ABC-1': SalesDetails\.UnitPrice is not a number"):
        mapping.item_to_product(sample("item_price_not_a_number.json"))


def test_tracked_item_has_one_stock_position_in_the_single_xero_pool():
    untracked, tracked = sample("items.json")["Items"]
    stock = mapping.item_to_stock(tracked)
    assert (stock.product_remote_id, stock.location_name, stock.quantity) == (
        "a4544d51-48f6-441f-a623-99ecbced6ab7",
        "Xero",
        Decimal("42"),
    )
    assert mapping.item_to_stock(untracked) is None


def test_archived_contact_is_an_inactive_customer():
    active, archived = (mapping.contact_to_customer(c) for c in sample("contacts_page.json")["Contacts"])
    assert (active.active, archived.active) == (True, False)
    assert active.email == "ann@acme.example"
    assert active.account_number == "ACME-1"
    assert active.phone == "626 847-1294"


def test_invoice_sends_only_the_contact_id_and_our_sale_number_as_reference():
    invoice = mapping.draft_to_invoice(draft("SALE-7"))
    assert invoice["Type"] == "ACCREC"
    assert invoice["Contact"] == {"ContactID": "bd2270c3-8706-4c11-9cfb-000b551c3f51"}
    assert invoice["Reference"] == "SALE-7"
    assert "InvoiceNumber" not in invoice
    assert invoice["LineItems"] == [
        {"Description": "Plectrum pack", "Quantity": 2.0, "UnitAmount": 4.5, "ItemCode": "PICK-10"}
    ]


def test_invoice_for_a_new_customer_carries_the_contact_details():
    invoice = mapping.draft_to_invoice(
        draft("SALE-8", customer_details=NewCustomer(name="Walk-in Ltd", email="walk@example.com"))
    )
    assert invoice["Contact"]["Name"] == "Walk-in Ltd"
    assert invoice["Contact"]["EmailAddress"] == "walk@example.com"


def test_batch_answer_gives_each_draft_its_own_result():
    ok, refused = mapping.invoice_results(
        [draft("SALE-1"), draft("SALE-2")], sample("invoices_batch_mixed.json")
    )
    assert ok.ok and ok.invoice.number == "INV-0001" and ok.invoice.total == Decimal("20.00")
    assert not refused.ok
    assert refused.errors[0] == "Account code '999' is not a valid code for this document."


def test_batch_answer_with_fewer_invoices_than_sent_is_a_provider_bug():
    body = sample("invoices_batch_mixed.json")
    with pytest.raises(ProviderBug, match="2 invoices for 3 sent"):
        mapping.invoice_results([draft("A"), draft("B"), draft("C")], body)


def test_validation_exception_gives_every_element_message():
    assert mapping.validation_messages(sample("validation_exception.json")) == [
        "Item code 'GTR-STRAT' already exists"
    ]


def test_expired_token_body_gives_its_detail():
    assert mapping.validation_messages(sample("token_expired.json")) == ["TokenExpired"]


def test_connection_becomes_an_organisation():
    [organisation] = [mapping.connection_to_organisation(c) for c in sample("connections.json")]
    assert (organisation.remote_id, organisation.name) == (
        "70784a63-d24b-46a9-a4db-0e70a274b056",
        "Maple Florists",
    )
