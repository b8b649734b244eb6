"""Lightspeed's version feeds end on a page shorter than the store serves: a poll with fewer
changes than a page costs one call per feed, an import from a store that serves less than we ask
still reads everything, and a poll that ended early loses nothing (FACTS §3.4)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from syncing.models import Product, StockLevel, SyncRun
from syncing.services.backfill import request_backfill, run_backfill
from syncing.services.customers import pull_changed_customers
from syncing.services.products import pull_changed_products
from syncing.services.stock import pull_changed_stock

SCHEDULE = SyncRun.Trigger.SCHEDULE
API = SyncRun.Trigger.API
# The store serves at most 5 records a page though we ask for 10,000: 12 products are pages of
# 5, 5 and 2.
PAGE = 5
PRODUCTS = 12
CUSTOMERS = 12


@pytest.fixture
def emulator(start_emulator, clock):
    app = start_emulator("vend", clock=clock, max_page_size=PAGE)
    app.seed(products=PRODUCTS, customers=CUSTOMERS, locations=2)
    return app


@pytest.fixture
def connection(emulator, connect):
    return connect(emulator, "vend")


def import_all(connection):
    return [
        pull(connection=connection, trigger=SCHEDULE)
        for pull in (pull_changed_products, pull_changed_stock, pull_changed_customers)
    ]


def product_ids(emulator) -> list[str]:
    return sorted(p["remote_id"] for p in emulator.products())


def test_import_from_a_store_serving_less_than_asked_reads_everything_in_one_run(connection, emulator):
    run = pull_changed_products(connection=connection, trigger=SCHEDULE)

    assert (run.status, run.created) == (SyncRun.Status.SUCCEEDED, PRODUCTS)
    assert Product.objects.filter(tenant=connection.tenant).count() == PRODUCTS
    # Pages of 5, 5 and 2: the 2 is short of the 5 already served, so no empty page follows.
    assert emulator.calls("GET", "/api/2.0/products") == 3
    connection.refresh_from_db()
    assert connection.cursors["products_largest_page"] == PAGE


def test_a_first_page_shorter_than_asked_reads_on_to_the_empty_page(start_emulator, connect):
    emulator = start_emulator("vend")
    emulator.seed(products=3, customers=0, locations=1)
    connection = connect(emulator, "vend")

    run = pull_changed_products(connection=connection, trigger=SCHEDULE)

    # Nothing yet tells 3 of 10,000 asked from a store that serves only 3 a page.
    assert (run.created, emulator.calls("GET", "/api/2.0/products")) == (3, 2)


def test_poll_with_fewer_changes_than_a_page_costs_one_call_per_feed(connection, emulator):
    import_all(connection)
    ids = product_ids(emulator)
    for remote_id in ids[:2]:
        emulator.update_product(remote_id, name=f"Renamed {remote_id}")
        emulator.set_stock(remote_id, "Main Street", Decimal("99"))
    emulator.add_customer(name="New Cafe", email="new@example.com")
    emulator.add_customer(name="Other Cafe", email="other@example.com")
    emulator.reset_calls()

    products, stock, customers = import_all(connection)

    assert (products.fetched, stock.fetched, customers.fetched) == (2, 2, 2)
    assert emulator.calls("GET", "/api/2.0/products") == 1
    assert emulator.calls("GET", "/api/2.0/inventory") == 1
    assert emulator.calls("GET", "/api/2.0/customers") == 1
    assert StockLevel.objects.filter(quantity=Decimal("99")).count() == 2
    assert customers.created == 2


def test_poll_that_ended_on_a_short_page_loses_nothing(connection, emulator):
    pull_changed_products(connection=connection, trigger=SCHEDULE)
    first, second = product_ids(emulator)[:2]
    emulator.update_product(first, name="Changed before the poll")
    ended_early = pull_changed_products(connection=connection, trigger=SCHEDULE)
    emulator.update_product(second, name="Changed after the poll")

    next_poll = pull_changed_products(connection=connection, trigger=SCHEDULE)

    assert (ended_early.fetched, ended_early.api_calls) == (1, 1)
    assert next_poll.cursor_before == ended_early.cursor_after
    assert next_poll.fetched == 1
    names = set(Product.objects.filter(tenant=connection.tenant).values_list("name", flat=True))
    assert {"Changed before the poll", "Changed after the poll"} <= names


def test_backfill_from_before_the_cursor_reads_on_past_short_pages(connection, emulator, clock):
    start_at = clock.now - timedelta(days=1)
    pull_changed_products(connection=connection, trigger=SCHEDULE)
    # The store now serves fewer a page than it once did: every page looks short.
    emulator.max_page_size = 2
    clock.advance(hours=1)
    backfill = request_backfill(connection=connection, start=start_at, end=clock.now, trigger=API)

    run_backfill(backfill)

    reread = SyncRun.objects.get(connection=connection, kind=SyncRun.Kind.PRODUCTS, trigger=API)
    assert reread.fetched == PRODUCTS
