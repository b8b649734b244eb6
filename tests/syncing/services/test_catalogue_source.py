"""With two product sources, the inventory system owns product details; the other only links."""

from decimal import Decimal

import pytest

from syncing.models import Product, ProductLink, SyncRun
from syncing.services.products import pull_changed_products, sweep_stale_products


@pytest.fixture
def both(start_emulator, connect):
    xero = start_emulator("xero")
    vend = start_emulator("vend")
    for emulator in (xero, vend):
        emulator.add_product(code="MUG", name=f"Mug from {emulator.name}", price=Decimal("4.00"))
    # Xero connected first: the inventory connection still wins.
    return connect(xero, "xero"), connect(vend, "vend"), xero, vend


def pull(connection):
    run = pull_changed_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    return run


def test_inventory_system_details_win_whatever_order_the_pulls_run(both):
    xero_connection, vend_connection, _, vend = both
    pull(vend_connection)
    pull(xero_connection)

    mug = Product.objects.get(sku="MUG")
    assert mug.name == f"Mug from {vend.name}"
    assert set(ProductLink.objects.filter(product=mug).values_list("connection", flat=True)) == {
        xero_connection.pk,
        vend_connection.pk,
    }


def test_the_linking_connection_counts_its_products_as_unchanged(both):
    xero_connection, vend_connection, _, _ = both
    pull(vend_connection)
    assert pull(xero_connection).unchanged >= 1


def test_differences_from_the_other_source_are_not_feed_misses(both):
    xero_connection, vend_connection, _, _ = both
    pull(vend_connection)
    pull(xero_connection)

    sweep_stale_products(connection=xero_connection, trigger=SyncRun.Trigger.MANUAL)

    xero_connection.refresh_from_db()
    assert xero_connection.feed_misses == 0


def test_a_product_gone_from_the_linking_connection_stays_active(both):
    xero_connection, vend_connection, xero, _ = both
    pull(vend_connection)
    pull(xero_connection)
    link = ProductLink.objects.get(connection=xero_connection, product__sku="MUG")
    xero.delete_product(link.remote_id)

    sweep_stale_products(connection=xero_connection, trigger=SyncRun.Trigger.MANUAL)

    link.refresh_from_db()
    assert link.remote_deleted
    assert Product.objects.get(sku="MUG").active
