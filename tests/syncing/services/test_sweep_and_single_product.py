"""The sweep, one-product syncs and making sure a product exists remotely, against emulators."""

import logging
from decimal import Decimal

import pytest

from connectors.base import Capability
from syncing.models import LinkMethod, Product, ProductLink, StockLevel, SyncRun
from syncing.services.products import (
    FEED_MISS_THRESHOLD,
    ensure_remote_product,
    pull_changed_products,
    sweep_stale_products,
    sync_product,
)
from syncing.services.stock import pull_changed_stock
from tests import factories
from tests.concurrency import race

MANUAL = SyncRun.Trigger.MANUAL


def imported(connection):
    pull_changed_products(connection=connection, trigger=MANUAL)
    return list(Product.objects.filter(tenant=connection.tenant).order_by("sku"))


def test_sweep_finds_a_ghost_product_deleted_without_the_feed_telling(connection, emulator):
    gone = imported(connection)[0]
    emulator.delete_product(gone.links.get().remote_id)

    run = sweep_stale_products(connection=connection)

    gone.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert gone.active is False
    assert run.updated == 1


def test_sweep_applies_a_silent_change_and_counts_it_as_a_feed_miss(connection, emulator):
    product = imported(connection)[1]
    emulator.update_product_silently(product.links.get().remote_id, name="Changed without a timestamp")

    sweep_stale_products(connection=connection)

    product.refresh_from_db()
    connection.refresh_from_db()
    assert product.name == "Changed without a timestamp"
    assert connection.feed_misses == 1
    assert connection.feed_flagged_at is None


@pytest.mark.parametrize("provider", ["xero", "unleashed"])
def test_feed_missing_many_changes_is_flagged_for_staff(connection, emulator, caplog):
    connection.feed_misses = FEED_MISS_THRESHOLD - 1
    connection.save()
    product = imported(connection)[0]
    emulator.update_product_silently(product.links.get().remote_id, name="Silently renamed")

    with caplog.at_level(logging.WARNING, logger="syncing.services.products"):
        sweep_stale_products(connection=connection)

    connection.refresh_from_db()
    assert connection.feed_flagged_at is not None
    assert "change feed is missing updates" in caplog.text


def test_sweep_confirms_only_the_oldest_links_and_fetches_them_in_bulk(connection, emulator):
    imported(connection)
    emulator.seed(products=7)
    pull_changed_products(connection=connection, trigger=MANUAL)
    before = dict(ProductLink.objects.values_list("pk", "last_confirmed_at"))
    emulator.reset_calls()

    run = sweep_stale_products(connection=connection, size=3)

    after = dict(ProductLink.objects.values_list("pk", "last_confirmed_at"))
    confirmed = [pk for pk in after if after[pk] != before[pk]]
    assert len(confirmed) == 3
    assert run.unchanged == 3
    assert emulator.calls() <= 2


def test_sync_product_refreshes_one_product_and_its_stock_in_a_couple_of_calls(
    connection, emulator, provider
):
    product = imported(connection)[2]
    emulator.update_product(product.links.get().remote_id, name="Fresh name")
    emulator.reset_calls()

    run = sync_product(product=product)

    product.refresh_from_db()
    assert run.kind == SyncRun.Kind.SINGLE_PRODUCT
    assert product.name == "Fresh name"
    # Lightspeed names outlets only in a separate list, read once per run.
    assert emulator.calls() == (3 if provider == "vend" else 2)


@pytest.mark.parametrize("provider", ["xero", "vend"])
def test_sync_product_by_sku_imports_a_product_not_seen_here_yet(connection, emulator, tenant):
    emulator.add_product(code="JUST-ADDED", name="Just added", price=Decimal("3.50"))

    run = sync_product(sku="JUST-ADDED", tenant=tenant)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert Product.objects.get(sku="JUST-ADDED").links.get().connection == connection


def test_ensure_remote_product_links_an_existing_remote_product_by_code(connection, emulator, tenant):
    remote = emulator.products()[0]
    product = factories.ProductFactory(tenant=tenant, sku=remote["code"])

    link = ensure_remote_product(product=product, connection=connection)

    assert (link.remote_id, link.method) == (remote["remote_id"], LinkMethod.MATCHED_CODE)
    assert len(emulator.products()) == 3


def test_ensure_remote_product_creates_it_when_truly_absent(connection, emulator, tenant):
    product = factories.ProductFactory(tenant=tenant, sku="LOCAL-ONLY", name="Local only")

    link = ensure_remote_product(product=product, connection=connection)

    assert link.method == LinkMethod.CREATED
    assert [p["remote_id"] for p in emulator.products() if p["code"] == "LOCAL-ONLY"] == [link.remote_id]
    assert ensure_remote_product(product=product, connection=connection) == link


@pytest.mark.parametrize("provider", ["xero"])
def test_a_product_created_remotely_carries_the_mapped_tax_code(connection, emulator, tenant):
    connection.tax_rate_map = {"VAT20": "OUTPUT2"}
    connection.save()
    product = factories.ProductFactory(tenant=tenant, sku="NEW-1", name="New", tax_code="VAT20")

    link = ensure_remote_product(product=product, connection=connection)

    assert emulator.org.items[link.remote_id]["SalesDetails"]["TaxType"] == "OUTPUT2"


@pytest.mark.django_db(transaction=True)
def test_two_racing_sales_create_one_remote_product(connection, emulator, tenant):
    assert connection.spec.can(Capability.CREATE_PRODUCT)
    product = factories.ProductFactory(tenant=tenant, sku="RACE-1", name="Raced")
    links, errors = race(lambda _: ensure_remote_product(product=product, connection=connection).remote_id)
    assert errors == []
    assert len([p for p in emulator.products() if p["code"] == "RACE-1"]) == 1
    assert len(set(links)) == 1 and len(links) == 2


def test_stock_pull_stores_levels_of_linked_products(connection, emulator):
    imported(connection)

    run = pull_changed_stock(connection=connection, trigger=MANUAL)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.created >= 1
    assert StockLevel.objects.filter(product__tenant=connection.tenant).count() == run.created
