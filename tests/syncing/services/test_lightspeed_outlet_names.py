"""Lightspeed inventory records name only the outlet id; the outlet names are kept beside the stock
cursor, so a stock poll over known outlets reads no `/outlets`, and a new outlet (or names a day
old, which may hide a rename) costs one read."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.vend.client import OUTLET_NAMES, OUTLET_NAMES_READ_AT
from syncing.models import Location, Product, StockLevel, SyncRun
from syncing.services.products import pull_changed_products, sync_product
from syncing.services.stock import pull_changed_stock

SCHEDULE = SyncRun.Trigger.SCHEDULE
OUTLETS = "/api/2.0/outlets"


@pytest.fixture
def emulator(start_emulator, clock):
    app = start_emulator("vend", clock=clock)
    app.seed(products=3, customers=0, locations=2)
    return app


@pytest.fixture
def connection(emulator, connect):
    connection = connect(emulator, "vend")
    pull_changed_products(connection=connection, trigger=SCHEDULE)
    pull_changed_stock(connection=connection, trigger=SCHEDULE)
    emulator.reset_calls()
    return connection


def first_product_id(emulator) -> str:
    return emulator.products()[0]["remote_id"]


def outlet_named(emulator, name: str) -> str:
    return next(outlet_id for outlet_id, outlet in emulator.outlets.items() if outlet["name"] == name)


def held_at(remote_id: str, outlet_id: str) -> StockLevel:
    return StockLevel.objects.select_related("location").get(
        product__links__remote_id=remote_id, location__code=outlet_id
    )


def test_the_first_stock_poll_keeps_the_outlet_names_beside_its_cursor(connection, emulator):
    connection.refresh_from_db()

    assert connection.cursors[OUTLET_NAMES] == {
        outlet_id: outlet["name"] for outlet_id, outlet in emulator.outlets.items()
    }
    assert datetime.fromisoformat(connection.cursors[OUTLET_NAMES_READ_AT]) <= datetime.now(UTC)


def test_a_stock_poll_over_known_outlets_spends_only_the_feed_call(connection, emulator):
    remote_id = first_product_id(emulator)
    emulator.set_stock(remote_id, "Harbour Side", Decimal("12"))

    run = pull_changed_stock(connection=connection, trigger=SCHEDULE)

    assert (run.status, run.fetched) == (SyncRun.Status.SUCCEEDED, 1)
    assert emulator.calls() == 1
    assert emulator.calls("GET", OUTLETS) == 0
    level = held_at(remote_id, outlet_named(emulator, "Harbour Side"))
    assert (level.location.name, level.quantity) == ("Harbour Side", Decimal("12"))


def test_a_stock_poll_meeting_a_new_outlet_reads_the_outlets_once_and_names_its_stock(connection, emulator):
    outlet_id = emulator.add_outlet("Pop-up Stall")
    remote_id = first_product_id(emulator)
    emulator.set_stock(remote_id, outlet_id, Decimal("5"))

    pull_changed_stock(connection=connection, trigger=SCHEDULE)

    assert emulator.calls("GET", OUTLETS) == 1
    level = held_at(remote_id, outlet_id)
    assert (level.location.name, level.quantity) == ("Pop-up Stall", Decimal("5"))
    connection.refresh_from_db()
    assert connection.cursors[OUTLET_NAMES][outlet_id] == "Pop-up Stall"


def test_outlet_names_a_day_old_are_read_again_so_a_renamed_outlet_names_its_stock(connection, emulator):
    aged = datetime.now(UTC) - timedelta(days=1, minutes=1)
    connection.cursors = {**connection.cursors, OUTLET_NAMES_READ_AT: aged.isoformat()}
    connection.save(update_fields=["cursors"])
    emulator.rename_outlet("Main Street", "High Street")
    remote_id = first_product_id(emulator)
    emulator.set_stock(remote_id, "High Street", Decimal("8"))

    pull_changed_stock(connection=connection, trigger=SCHEDULE)

    assert emulator.calls("GET", OUTLETS) == 1
    renamed = StockLevel.objects.get(product__links__remote_id=remote_id, location__name="High Street")
    assert renamed.quantity == Decimal("8")
    connection.refresh_from_db()
    assert datetime.fromisoformat(connection.cursors[OUTLET_NAMES_READ_AT]) > aged


def test_a_renamed_outlet_keeps_its_location_and_stock_under_the_new_name(connection, emulator):
    aged = datetime.now(UTC) - timedelta(days=1, minutes=1)
    connection.cursors = {**connection.cursors, OUTLET_NAMES_READ_AT: aged.isoformat()}
    connection.save(update_fields=["cursors"])
    outlet_id = outlet_named(emulator, "Main Street")
    location = Location.objects.get(tenant=connection.tenant, code=outlet_id)
    emulator.rename_outlet("Main Street", "High Street")
    emulator.set_stock(first_product_id(emulator), "High Street", Decimal("8"))

    pull_changed_stock(connection=connection, trigger=SCHEDULE)

    assert set(Location.objects.filter(tenant=connection.tenant).values_list("name", flat=True)) == {
        "High Street",
        "Harbour Side",
    }
    location.refresh_from_db()
    assert location.name == "High Street"
    # Every product's stock there, changed or not, now shows under the new name.
    assert StockLevel.objects.filter(location=location).count() == 3


def test_syncing_one_product_names_its_stock_from_the_kept_outlet_names(connection, emulator):
    product = Product.objects.get(links__remote_id=first_product_id(emulator))

    run = sync_product(product=product)

    assert run.status == SyncRun.Status.SUCCEEDED
    # The product, then its inventory; no outlet list.
    assert (emulator.calls(), emulator.calls("GET", OUTLETS)) == (2, 0)
    assert set(product.stock_levels.values_list("location__name", flat=True)) == {
        "Main Street",
        "Harbour Side",
    }
