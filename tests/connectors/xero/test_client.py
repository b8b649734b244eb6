"""XeroConnector behaviour beyond the shared contract, against the emulator over HTTP."""

import uuid
from decimal import Decimal

import pytest

from connectors.base import Window
from connectors.errors import ValidationFailed
from connectors.records import NewProduct


def test_stock_is_read_for_tracked_items_only_in_one_xero_pool(xero, connector):
    xero.seed(products=6)
    stock = connector.pull_stock(since=None, page=None).records
    tracked = {p["code"] for p in xero.products()} & {"SKU-00003", "SKU-00006"}
    assert {s.product_code for s in stock} == tracked
    assert {s.location_name for s in stock} == {"Xero"}
    assert [s.quantity for s in stock] == [Decimal(3), Decimal(6)]


def test_stock_change_is_seen_after_the_cursor(xero, connector, clock):
    xero.seed(products=3)
    cursor = connector.pull_stock(since=None, page=None).high_water_mark
    clock.advance(2)
    xero.set_stock(xero.products()[2]["remote_id"], "Xero", Decimal("17"))
    [changed] = connector.pull_stock(since=cursor, page=None).records
    assert (changed.product_code, changed.quantity) == ("SKU-00003", Decimal("17"))


def test_archived_contact_is_pulled_as_inactive(xero, connector, clock):
    kept = xero.add_customer(name="Kept Ltd")
    gone = xero.add_customer(name="Gone Ltd")
    cursor = connector.pull_customers(since=None, page=None).high_water_mark
    clock.advance(2)
    xero.archive_customer(gone)
    records = connector.pull_customers(since=cursor, page=None).records
    assert [(c.remote_id, c.active) for c in records] == [(gone, False)]
    assert kept != gone


def test_contact_changed_while_paging_is_read_again_next_time(xero, connector, clock):
    # The change on page 2 is seen in this read; a cursor from the newest change seen would
    # then skip the one made on page 1 after we had read it.
    xero.seed(customers=1001)
    first = connector.pull_customers(since=None, page=None)
    clock.advance(2)
    behind_us = first.records[0].remote_id
    ahead_of_us = max(c["ContactID"] for c in xero.org.contacts.values())
    xero.archive_customer(behind_us)
    xero.archive_customer(ahead_of_us)
    last = connector.pull_customers(since=None, page=first.next_page)
    assert [(c.remote_id, c.active) for c in last.records] == [(ahead_of_us, False)]
    again = connector.pull_customers(since=last.high_water_mark, page=None).records
    assert {c.remote_id for c in again} == {behind_us, ahead_of_us}


def test_contacts_are_read_a_thousand_per_call(xero, connector):
    xero.seed(customers=2001)
    page, calls = None, 0
    while True:
        result = connector.pull_customers(since=None, page=page)
        calls += 1
        if result.next_page is None:
            break
        page = result.next_page
    assert calls == 3
    assert xero.calls("GET", "/Contacts") == 3


def test_sweep_of_many_ids_is_one_call_and_misses_the_deleted_item(xero, connector):
    xero.seed(products=120)
    ids = [p["remote_id"] for p in xero.products()]
    xero.delete_product(ids[5])
    xero.reset_calls()
    found = connector.find_products_by_ids(ids)
    assert xero.calls("GET", "/Items") == 1
    assert {p.remote_id for p in found} == set(ids) - {ids[5]}


def test_deleted_item_is_invisible_to_the_change_feed(xero, connector, clock):
    xero.seed(products=3)
    cursor = connector.pull_products(since=None, page=None).high_water_mark
    clock.advance(2)
    xero.delete_product(xero.products()[0]["remote_id"])
    assert connector.pull_products(since=cursor, page=None).records == []


def test_find_by_several_codes_is_one_call(xero, connector):
    xero.seed(products=5)
    xero.reset_calls()
    found = connector.find_products_by_code(["SKU-00002", "SKU-00004", "NOPE"])
    assert sorted(p.code for p in found) == ["SKU-00002", "SKU-00004"]
    assert xero.calls("GET", "/Items") == 1


def test_duplicate_product_code_raises_validation_failed_with_xeros_words(xero, connector):
    xero.seed(products=1)
    with pytest.raises(ValidationFailed) as raised:
        connector.create_product(
            NewProduct(code="SKU-00001", name="Again"), idempotency_key=str(uuid.uuid4())
        )
    assert raised.value.messages == ["Item code 'SKU-00001' already exists"]


def test_expired_access_token_is_refreshed_and_the_call_goes_through(xero, connector):
    xero.seed(products=1)
    xero.oauth.expire_access_tokens()
    assert len(connector.pull_products(since=None, page=None).records) == 1
    assert xero.oauth.refreshes == 1


def test_remaining_calls_are_read_from_xeros_headers(xero, connector):
    response = connector.session.request("GET", "Items")
    assert connector.remaining_calls(response) == {Window.MINUTE: 59, Window.DAY: 4999}


def test_organisations_come_from_connections(xero, connector):
    [organisation] = connector.list_organisations()
    assert (organisation.remote_id, organisation.name) == (xero.org.tenant_id, xero.org.name)
