"""GET /Items is one unpaged answer, decoded as it arrives and handed to the sync in pages."""

import pytest

from connectors.errors import ProviderBug
from connectors.xero import client


@pytest.fixture
def pages_of_two(monkeypatch):
    monkeypatch.setattr(client, "ITEMS_PAGE_SIZE", 2)


def read_feed(pull) -> list:
    pages, token = [], None
    while True:
        page = pull(since=None, page=token)
        pages.append(page)
        token = page.next_page
        if token is None:
            return pages


def test_items_come_in_pages_of_a_fixed_size_from_one_call(xero, connector, pages_of_two):
    xero.seed(products=5)
    xero.reset_calls()
    pages = read_feed(connector.pull_products)
    assert [len(page.records) for page in pages] == [2, 2, 1]
    assert {r.code for page in pages for r in page.records} == {p["code"] for p in xero.products()}
    assert xero.calls("GET", "/Items") == 1


def test_cursor_comes_with_the_last_page_only(xero, connector, pages_of_two):
    xero.seed(products=5)
    pages = read_feed(connector.pull_products)
    assert [page.high_water_mark is None for page in pages] == [True, True, False]


def test_a_full_last_page_ends_the_feed(xero, connector, pages_of_two):
    xero.seed(products=4)
    pages = read_feed(connector.pull_products)
    assert [len(page.records) for page in pages] == [2, 2]


def test_untracked_items_move_the_stock_cursor_without_a_position(xero, connector, clock, pages_of_two):
    xero.seed(products=3)
    cursor = read_feed(connector.pull_stock)[-1].high_water_mark
    clock.advance(2)
    xero.update_product(xero.products()[0]["remote_id"], name="Renamed")  # SKU-00001 is untracked
    [page] = read_feed(lambda **kwargs: connector.pull_stock(**{**kwargs, "since": cursor}))
    assert page.records == []
    assert page.high_water_mark > cursor


def test_an_item_without_its_id_fails_naming_the_item(xero, connector, pages_of_two):
    xero.seed(products=3)
    del xero.org.items[xero.products()[2]["remote_id"]]["ItemID"]
    with pytest.raises(ProviderBug, match="SKU-00003"):
        read_feed(connector.pull_products)


def test_a_page_token_from_another_read_is_refused(xero, connector, pages_of_two):
    xero.seed(products=5)
    with pytest.raises(ValueError, match="does not continue"):
        connector.pull_products(since=None, page="2")


def test_a_poll_after_an_import_reads_no_item_again(xero, connector, clock, pages_of_two):
    clock.advance(0.5)
    xero.seed(products=5)  # a bulk import: every item changed within one second
    clock.advance(2)
    cursor = read_feed(connector.pull_products)[-1].high_water_mark
    [page] = read_feed(lambda **kwargs: connector.pull_products(**{**kwargs, "since": cursor}))
    assert page.records == []
