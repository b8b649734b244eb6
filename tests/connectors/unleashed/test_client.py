"""Unleashed-only behaviour of the connector, over HTTP to the emulator."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.errors import AuthorizationRevoked, RateLimited
from connectors.http import connector_for
from connectors.records import InvoiceDraft, InvoiceLineDraft, NewProduct


@pytest.fixture
def unleashed(start_emulator):
    return start_emulator("unleashed")


@pytest.fixture
def connector(unleashed, connect):
    return connector_for(connect(unleashed, "unleashed"))


def draft_for(unleashed, reference="SALE-1", key=None, customer_id=None):
    product = unleashed.products()[0]
    return InvoiceDraft(
        reference=reference,
        idempotency_key=key or str(uuid.uuid4()),
        customer_remote_id=customer_id or unleashed.add_customer(name="Buyer", email="b@example.com"),
        issued_on=date(2026, 11, 2),
        lines=(
            InvoiceLineDraft(
                description="Widget",
                quantity=Decimal("3"),
                unit_price=Decimal("4.50"),
                product_remote_id=product["remote_id"],
                discount_rate=Decimal("10"),
            ),
        ),
    )


def test_signed_requests_with_query_strings_are_accepted(unleashed, connector):
    unleashed.seed(products=3)
    found = connector.find_products_by_code(["SKU-00002"])
    assert [p.code for p in found] == ["SKU-00002"]


def test_pull_reads_pages_to_the_end_in_two_calls_for_1001_products(unleashed, connector):
    unleashed.seed(products=1001, locations=1)
    first = connector.pull_products(since=None, page=None)
    second = connector.pull_products(since=None, page=first.next_page)
    assert (len(first.records), len(second.records), second.next_page) == (1000, 1, None)
    assert unleashed.calls("GET", "/Products") == 2


def test_pull_sees_obsolete_products_as_deleted(unleashed, connector):
    unleashed.seed(products=2)
    gone = unleashed.products()[0]["remote_id"]
    unleashed.delete_product(gone)
    page = connector.pull_products(since=None, page=None)
    flags = {p.remote_id: (p.active, p.deleted) for p in page.records}
    assert flags[gone] == (False, True)
    assert len(flags) == 2


def test_find_products_by_ids_packs_ids_into_the_fewest_calls(unleashed, connector):
    unleashed.seed(products=120)
    ids = [p["remote_id"] for p in unleashed.products()]
    found = connector.find_products_by_ids(ids)
    assert {p.remote_id for p in found} == set(ids)
    # 47 GUIDs fit one query string under the limit: 120 ids take three calls, none refused.
    assert unleashed.calls("GET", "/Products") == 3
    assert all(status == 200 for _, _, status in unleashed.log)


def test_stock_is_reported_per_warehouse_code(unleashed, connector):
    unleashed.seed(products=2, locations=2)
    page = connector.pull_stock(since=None, page=None)
    assert {(s.product_code, s.location_remote_id) for s in page.records} == {
        ("SKU-00001", "MAIN"),
        ("SKU-00001", "STORE"),
        ("SKU-00002", "MAIN"),
        ("SKU-00002", "STORE"),
    }


def test_created_product_retried_with_the_same_key_is_one_product(unleashed, connector):
    key = str(uuid.uuid4())
    product = NewProduct(code="NEW-1", name="New widget", sale_price=Decimal("9.95"))
    first = connector.create_product(product, idempotency_key=key)
    second = connector.create_product(product, idempotency_key=key)
    assert first.remote_id == second.remote_id
    assert [(p["code"], p["price"]) for p in unleashed.products()] == [("NEW-1", Decimal("9.95"))]


def test_sales_order_whose_answer_was_lost_is_posted_once(unleashed, connector):
    unleashed.seed(products=1)
    draft = draft_for(unleashed)
    unleashed.lose_next_response(match="/SalesOrders/")
    [result] = connector.post_invoices([draft])
    assert result.ok
    assert unleashed.calls("POST", "/SalesOrders/") == 2
    assert [(i["reference"], i["total"]) for i in unleashed.invoices()] == [("SALE-1", Decimal("12.15"))]


def test_refused_sales_order_comes_back_with_the_providers_words(unleashed, connector):
    unleashed.seed(products=1)
    draft = draft_for(unleashed, customer_id=str(uuid.uuid4()))
    [result] = connector.post_invoices([draft])
    assert not result.ok
    assert result.errors == ("Customer: Customer does not exist",)


def test_invoice_is_found_by_its_source_id(unleashed, connector):
    unleashed.seed(products=1)
    [posted] = connector.post_invoices([draft_for(unleashed, reference="SALE-42")])
    found = connector.find_invoice_by_reference("SALE-42")
    assert found is not None
    assert (found.remote_id, found.reference) == (posted.invoice.remote_id, "SALE-42")


def test_wrong_api_key_means_the_merchant_must_reenter_keys(unleashed, connector):
    unleashed.revoke_credentials()
    with pytest.raises(AuthorizationRevoked):
        connector.pull_products(since=None, page=None)


def test_spent_monthly_quota_raises_rate_limited_until_the_first_of_next_month(start_emulator, connect):
    unleashed = start_emulator("unleashed", quota=1)
    connector = connector_for(connect(unleashed, "unleashed"))
    connector.pull_customers(since=None, page=None)
    with pytest.raises(RateLimited) as raised:
        connector.pull_customers(since=None, page=None)
    now = datetime.now(UTC)
    expected = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    assert raised.value.retry_at == expected
    assert "blocked" in raised.value.message
