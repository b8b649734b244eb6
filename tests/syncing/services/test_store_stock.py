"""How a page of stock positions lands: on linked products only, per location."""

from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.records import RemoteStock
from syncing.models import Location, StockLevel
from syncing.services.stock import store_stock
from tests import factories


@pytest.fixture
def connection(tenant):
    return factories.ConnectionFactory(tenant=tenant)


@pytest.fixture
def run(connection):
    return factories.SyncRunFactory(connection=connection, kind="stock")


def store(connection, run, *records):
    store_stock(connection=connection, run=run, records=list(records), now=timezone.now())


def test_stock_of_a_linked_product_is_stored_per_location(connection, run):
    link = factories.ProductLinkFactory(connection=connection, remote_id="r-1")
    store(
        connection,
        run,
        RemoteStock("r-1", "out-1", Decimal("4"), location_name="Main Street"),
        RemoteStock("r-1", "out-2", Decimal("9"), location_name="Warehouse"),
    )
    levels = dict(StockLevel.objects.filter(product=link.product).values_list("location__name", "quantity"))
    assert levels == {"Main Street": Decimal("4"), "Warehouse": Decimal("9")}
    assert Location.objects.get(name="Warehouse").code == "out-2"
    assert run.created == 2


def test_changed_quantity_updates_the_level_and_same_quantity_is_unchanged(connection, run):
    factories.ProductLinkFactory(connection=connection, remote_id="r-1")
    factories.ProductLinkFactory(connection=connection, remote_id="r-2")
    store(
        connection,
        run,
        RemoteStock("r-1", "o", Decimal("4"), "Shop"),
        RemoteStock("r-2", "o", Decimal("1"), "Shop"),
    )
    second = factories.SyncRunFactory(connection=connection, kind="stock")
    store(
        connection,
        second,
        RemoteStock("r-1", "o", Decimal("3"), "Shop"),
        RemoteStock("r-2", "o", Decimal("1"), "Shop"),
    )
    assert (second.updated, second.unchanged) == (1, 1)
    assert StockLevel.objects.get(product__links__remote_id="r-1").quantity == Decimal("3")


def test_stock_for_a_product_not_linked_yet_is_skipped(connection, run):
    store(connection, run, RemoteStock("unknown", "o", Decimal("4"), "Shop"))
    assert not StockLevel.objects.exists()
    assert not Location.objects.exists()
    assert (run.created, run.updated, run.unchanged, run.failed) == (0, 0, 0, 0)


def test_position_without_a_location_lands_in_one_named_for_the_provider(connection, run):
    factories.ProductLinkFactory(connection=connection, remote_id="r-1")
    store(connection, run, RemoteStock("r-1", "", Decimal("2")))
    assert StockLevel.objects.get().location.name == "Xero"
