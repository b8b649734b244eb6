"""SageConnector against the Sage emulator over loopback HTTP: Sage's own quirks."""

import uuid
from datetime import date
from decimal import Decimal

import pytest

from connectors.errors import ValidationFailed
from connectors.http import connector_for
from connectors.records import InvoiceDraft, InvoiceLineDraft, NewCustomer, NewProduct
from tests.connectors.contract import ConnectorContract, ManualClock

pull_all = ConnectorContract.pull_all


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def sage(start_emulator, clock):
    return start_emulator("sage", clock=clock)


@pytest.fixture
def connection(sage, connect):
    return connect(sage, "sage")


@pytest.fixture
def connector(connection):
    return connector_for(connection)


def sale(sage, *, reference="S-000001", key=None, account_code="4000", contact_id=None) -> InvoiceDraft:
    product = sage.products()[0]
    return InvoiceDraft(
        reference=reference,
        idempotency_key=key or str(uuid.uuid4()),
        customer_remote_id=contact_id or sage.add_customer(name="Buyer", email="buyer@example.com"),
        issued_on=date(2026, 11, 20),
        lines=(
            InvoiceLineDraft(
                description=product["name"],
                quantity=Decimal("2"),
                unit_price=Decimal("12.50"),
                product_remote_id=product["remote_id"],
                account_code=account_code,
                tax_code="GB_STANDARD",
            ),
        ),
        amounts_include_tax=False,
    )


def test_full_pull_stops_on_null_next_although_later_pages_repeat_the_last(sage, connector):
    sage.seed(products=401)
    records, _, pages = pull_all(connector.pull_products)
    assert pages == 3
    assert len({r.remote_id for r in records}) == 401
    assert sage.calls("GET", "/v3.1/stock_items") == 3


def test_pull_asks_for_every_attribute_so_records_carry_codes_and_prices(sage, connector):
    sage.seed(products=2)
    records, _, _ = pull_all(connector.pull_products)
    assert sorted(r.code for r in records) == ["SKU-00001", "SKU-00002"]
    assert all(r.sale_price is not None for r in records)


def test_incremental_pull_reads_the_deleted_since_feed(sage, connector, clock):
    sage.seed(products=3)
    gone = sage.products()[0]["remote_id"]
    _, cursor, _ = pull_all(connector.pull_products)
    clock.advance(2)
    sage.delete_product(gone)
    records, _, pages = pull_all(connector.pull_products, since=cursor)
    assert [(r.remote_id, r.deleted) for r in records] == [(gone, True)]
    assert pages == 2


def test_cursor_moves_only_once_both_feeds_are_read(sage, connector, clock):
    sage.seed(products=250)
    _, cursor, _ = pull_all(connector.pull_products)
    clock.advance(2)
    for product in sage.products()[:201]:
        sage.update_product(product["remote_id"], price=Decimal("1.00"))
    first = connector.pull_products(since=cursor, page=None)
    assert first.next_page is not None
    assert first.high_water_mark is None
    records, new_cursor, _ = pull_all(connector.pull_products, since=cursor)
    assert len(records) == 201
    assert new_cursor > cursor


def test_stock_pull_reports_the_items_quantity(sage, connector, clock):
    sage.seed(products=2)
    _, cursor, _ = pull_all(connector.pull_stock)
    clock.advance(2)
    moved = sage.products()[1]["remote_id"]
    sage.set_stock(moved, "ignored", Decimal("17"))
    records, _, _ = pull_all(connector.pull_stock, since=cursor)
    assert [(r.product_remote_id, r.quantity) for r in records] == [(moved, Decimal("17"))]


def test_deleted_customer_is_reported_inactive(sage, connector, clock):
    kept = sage.add_customer(name="Kept", email="kept@example.com")
    dropped = sage.add_customer(name="Dropped", email="dropped@example.com")
    _, cursor, _ = pull_all(connector.pull_customers)
    clock.advance(2)
    sage.delete_customer(dropped)
    records, _, _ = pull_all(connector.pull_customers, since=cursor)
    assert [(r.remote_id, r.active) for r in records] == [(dropped, False)]
    assert kept in {r.remote_id for r in pull_all(connector.pull_customers)[0]}


def test_a_few_ids_in_a_large_catalogue_are_fetched_one_by_one(sage, connector):
    sage.seed(products=650)
    wanted = [p["remote_id"] for p in sage.products()[-2:]]
    found = connector.find_products_by_ids(wanted)
    assert [p.remote_id for p in found] == wanted
    # Page 1 (which tells $total) and two GETs: paging would take three more pages.
    assert sage.calls("GET", "/v3.1/stock_items") == 3
    assert sage.calls("GET", f"/v3.1/stock_items/{wanted[0]}") == 1


def test_many_ids_are_found_by_paging_the_whole_list(sage, connector):
    sage.seed(products=450)
    wanted = [p["remote_id"] for p in sage.products()[-10:]]
    found = connector.find_products_by_ids(wanted)
    assert len(found) == 10
    assert sage.calls("GET", "/v3.1/stock_items") == 3
    assert sage.calls("GET", f"/v3.1/stock_items/{wanted[0]}") == 0


def test_a_deleted_id_is_missing_from_the_answer(sage, connector):
    sage.seed(products=2)
    gone, kept = (p["remote_id"] for p in sage.products())
    sage.delete_product(gone)
    assert [p.remote_id for p in connector.find_products_by_ids([gone])] == []
    assert [p.remote_id for p in connector.find_products_by_ids([gone, kept])] == [kept]


def test_same_draft_posted_twice_makes_one_invoice(sage, connector):
    sage.seed(products=1)
    draft = sale(sage)
    [first] = connector.post_invoices([draft])
    [again] = connector.post_invoices([draft])
    assert first.ok and again.ok
    assert again.invoice.remote_id == first.invoice.remote_id
    assert len(sage.invoices()) == 1


def test_lost_response_is_retried_into_the_same_invoice(sage, connector):
    sage.seed(products=1)
    draft = sale(sage)
    sage.lose_next_response(match="/sales_invoices")
    [result] = connector.post_invoices([draft])
    assert result.ok
    assert sage.calls("POST", "/v3.1/sales_invoices") == 2
    assert [i["remote_id"] for i in sage.invoices()] == [result.invoice.remote_id]


def test_invoice_tax_is_computed_from_the_rate_so_sage_accepts_it(sage, connector):
    sage.seed(products=1)
    [result] = connector.post_invoices([sale(sage)])
    assert result.invoice.total == Decimal("30.00")


def test_refused_invoice_is_a_result_with_sages_message(sage, connector):
    sage.seed(products=1)
    [result] = connector.post_invoices([sale(sage, contact_id="0" * 32)])
    assert not result.ok
    assert result.errors == ("Contact is invalid (contact)",)
    assert sage.invoices() == []


def test_nominal_code_is_resolved_once_per_connector(sage, connector):
    sage.seed(products=1)
    connector.post_invoices([sale(sage, reference="S-1")])
    connector.post_invoices([sale(sage, reference="S-2")])
    assert sage.calls("GET", "/v3.1/ledger_accounts") == 1
    assert sage.calls("GET", "/v3.1/tax_rates") == 1


def test_customer_created_twice_with_one_key_is_one_contact(connector, sage):
    key = str(uuid.uuid4())
    customer = NewCustomer(name="Harbour Deli", email="deli@example.com", account_number="HARB1")
    first = connector.create_customer(customer, idempotency_key=key)
    again = connector.create_customer(customer, idempotency_key=key)
    assert first.remote_id == again.remote_id
    assert len(sage.lead.contacts) == 1


def test_duplicate_item_code_is_refused_as_validation(sage, connector):
    sage.seed(products=1)
    with pytest.raises(ValidationFailed, match="Item Code has already been taken"):
        connector.create_product(NewProduct(code="SKU-00001", name="Twin"), idempotency_key="k-1")


def test_expired_token_mid_run_is_refreshed_and_the_run_continues(sage, connector, clock):
    sage.seed(products=401)
    first = connector.pull_products(since=None, page=None)
    clock.advance(6 * 60)
    second = connector.pull_products(since=None, page=first.next_page)
    third = connector.pull_products(since=None, page=second.next_page)
    assert third.next_page is None
    assert len(first.records) + len(second.records) + len(third.records) == 401
    assert sage.oauth.refreshes == 1


def test_business_header_selects_the_connections_business(start_emulator, connect):
    sage = start_emulator("sage", businesses=2)
    sage.seed(products=2)
    other = next(b for b in sage.books if b != sage.lead_business_id)
    connection = connect(sage, "sage")
    connection.remote_org_id = other
    records, _, _ = pull_all(connector_for(connection).pull_products)
    assert records == []
    assert len(pull_all(connector_for(connect(sage, "sage")).pull_products)[0]) == 2


def test_businesses_are_listed_as_organisations(sage, connector):
    [organisation] = connector.list_organisations()
    assert organisation.remote_id == sage.lead_business_id
    assert organisation.name == "Emulated Homewares Ltd"


def test_stock_for_products_reads_only_those_items(sage, connector):
    sage.seed(products=3)
    wanted = sage.products()[2]["remote_id"]
    sage.set_stock(wanted, "ignored", Decimal("9"))
    [stock] = connector.stock_for_products([wanted])
    assert (stock.product_remote_id, stock.quantity) == (wanted, Decimal("9"))
    assert sage.calls("GET", "/v3.1/stock_items") == 1
