"""VendConnector over real HTTP to the Lightspeed emulator: the version feed, lookups, sales."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
import requests

from connectors.base import Window
from connectors.errors import RateLimited
from connectors.http import connector_for
from connectors.records import InvoiceDraft, InvoiceLineDraft
from connectors.vend.client import VendConnector


@pytest.fixture
def store(start_emulator):
    return start_emulator("vend")


@pytest.fixture
def connector(store, connect):
    return connector_for(connect(store, "vend"))


def pull_everything(pull, since=None):
    records, cursor, token = [], since, None
    while True:
        page = pull(since=since, page=token)
        records.extend(page.records)
        cursor = page.high_water_mark or cursor
        if page.next_page is None:
            return records, cursor
        token = page.next_page


def sale(product_id: str, *, key: str | None = None, reference: str = "SALE-2001") -> InvoiceDraft:
    return InvoiceDraft(
        reference=reference,
        idempotency_key=key or str(uuid.uuid4()),
        customer_remote_id="",
        issued_on=date(2026, 11, 2),
        lines=(
            InvoiceLineDraft(
                description="Cup",
                quantity=Decimal("2"),
                unit_price=Decimal("10.00"),
                product_remote_id=product_id,
            ),
        ),
    )


def test_feed_pages_by_version_until_an_empty_page(store, connector):
    store.seed(products=3)
    first = connector.pull_products(since=None, page=None)
    assert sorted(p.code for p in first.records) == ["SKU-00001", "SKU-00002", "SKU-00003"]
    assert first.next_page == first.high_water_mark == max(p.version for p in first.records)
    last = connector.pull_products(since=None, page=first.next_page)
    assert last.records == []
    assert last.next_page is None
    assert store.calls("GET", "/api/2.0/products") == 2


def test_stock_change_shows_in_the_inventory_feed_only(store, connector):
    store.seed(products=2)
    _, product_cursor = pull_everything(connector.pull_products)
    _, stock_cursor = pull_everything(connector.pull_stock)
    product_id = store.products()[0]["remote_id"]
    store.set_stock(product_id, "Main Street", Decimal("9"))
    assert pull_everything(connector.pull_products, since=product_cursor)[0] == []
    stock, _ = pull_everything(connector.pull_stock, since=stock_cursor)
    assert [(s.product_remote_id, s.location_name, s.quantity) for s in stock] == [
        (product_id, "Main Street", Decimal("9"))
    ]


def test_poll_that_finds_nothing_costs_one_call(store, connector):
    store.seed(products=2)
    _, cursor = pull_everything(connector.pull_products)
    store.reset_calls()
    page = connector.pull_products(since=cursor, page=None)
    assert page.records == [] and page.next_page is None
    assert store.calls() == 1


def test_feed_asks_for_deleted_records_so_deleted_products_are_seen(store, connector):
    store.seed(products=2)
    _, cursor = pull_everything(connector.pull_products)
    gone = store.products()[0]["remote_id"]
    store.delete_product(gone)
    records, _ = pull_everything(connector.pull_products, since=cursor)
    assert [(p.remote_id, p.deleted, p.active) for p in records] == [(gone, True, False)]


def test_many_ids_are_checked_with_one_catalogue_read(store, connector):
    store.seed(products=5)
    ids = [p["remote_id"] for p in store.products()]
    store.delete_product(ids[2])
    store.reset_calls()
    found = connector.find_products_by_ids(ids)
    assert sorted(p.remote_id for p in found) == sorted(ids[:2] + ids[3:])
    # One page of up to 10,000 and the empty page that ends the read.
    assert store.calls("GET", "/api/2.0/products") == 2


def test_one_id_is_checked_with_one_lookup(store, connector):
    store.seed(products=3)
    wanted = store.products()[1]["remote_id"]
    store.reset_calls()
    assert [p.remote_id for p in connector.find_products_by_ids([wanted])] == [wanted]
    assert store.calls() == 1


def test_deleted_id_looked_up_alone_is_missing_from_the_answer(store, connector):
    store.seed(products=1)
    gone = store.products()[0]["remote_id"]
    store.delete_product(gone)
    assert connector.find_products_by_ids([gone]) == []


def test_stock_for_one_product_names_every_outlet(store, connector):
    store.seed(products=1)
    product_id = store.products()[0]["remote_id"]
    store.set_stock(product_id, "Harbour Side", Decimal("4"))
    stock = connector.stock_for_products([product_id])
    assert {(s.location_name, s.quantity) for s in stock} == {
        ("Main Street", Decimal("1")),
        ("Harbour Side", Decimal("4")),
    }


def test_long_rate_limit_carries_the_http_date_lightspeed_sent(store, connector):
    store.seed(products=1)
    store.rate_limit_next(retry_after=3600)
    with pytest.raises(RateLimited) as raised:
        connector.pull_products(since=None, page=None)
    expected = (store.clock() + timedelta(seconds=3600)).replace(microsecond=0)
    assert expected <= raised.value.retry_at <= expected + timedelta(seconds=1)
    assert "Rate limiting enforced" in raised.value.message


def test_retry_after_reads_an_rfc_1123_date():
    response = requests.Response()
    moment = datetime(2026, 7, 15, 15, 4, 5, tzinfo=UTC)
    response.headers["Retry-After"] = format_datetime(moment, usegmt=True)
    assert VendConnector.retry_after(None, response) == moment


def test_short_rate_limit_is_waited_out(store, connector):
    store.seed(products=1)
    store.rate_limit_next(retry_after=1)
    assert len(connector.pull_products(since=None, page=None).records) == 1
    assert store.faults_injected["rate_limit"] == 1


def test_window_limit_is_three_hundred_per_register_plus_fifty(start_emulator, connect):
    store = start_emulator("vend", registers=2)
    connector = connector_for(connect(store, "vend", registers=2))
    response = connector.session.request("GET", "/outlets")
    assert response.headers["X-RateLimit-Limit"] == "650"
    assert connector.remaining_calls(response) == {Window.FIVE_MINUTES: 649}


def test_retried_sale_create_after_a_lost_answer_makes_one_sale(store, connector):
    store.seed(products=1)
    product_id = store.products()[0]["remote_id"]
    store.lose_next_response(match="/sales")
    [result] = connector.post_invoices([sale(product_id)])
    assert result.ok
    assert store.calls("POST", "/sales") == 2
    assert [(i["remote_id"], i["reference"]) for i in store.invoices()] == [
        (result.invoice.remote_id, "SALE-2001")
    ]


def test_posting_the_same_draft_twice_is_one_sale(store, connector):
    store.seed(products=1)
    product_id = store.products()[0]["remote_id"]
    key = str(uuid.uuid4())
    [first] = connector.post_invoices([sale(product_id, key=key)])
    [second] = connector.post_invoices([sale(product_id, key=key)])
    assert first.invoice.remote_id == second.invoice.remote_id
    assert len(store.invoices()) == 1
    assert store.invoices()[0]["total"] == Decimal("20.00")


def test_refused_sale_carries_lightspeeds_own_words(store, connector):
    [result] = connector.post_invoices([sale(str(uuid.uuid4()))])
    assert not result.ok
    assert result.errors == ("line_items.0.product.id: product not found",)
    assert store.invoices() == []
