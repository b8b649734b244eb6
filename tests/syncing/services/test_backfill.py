"""A sync for a date range: re-reads each provider's feeds from the start without moving the
connection's cursors, and queues the range's sales that never reached the connection."""

from datetime import timedelta

import pytest

from invoices.models import OutboxEntry
from syncing.models import SyncRun
from syncing.services.backfill import request_backfill, run_backfill
from syncing.services.products import pull_changed_products
from tests import factories

FIRST = "SKU-00001"


def backfill(connection, start_at, end_at) -> SyncRun:
    run = request_backfill(connection=connection, start=start_at, end=end_at, trigger=SyncRun.Trigger.API)
    return run_backfill(run)


def test_a_backfill_reads_again_what_changed_since_the_start_and_keeps_the_cursors(connection, clock):
    pull_changed_products(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
    connection.refresh_from_db()
    cursors = dict(connection.cursors)
    clock.advance(minutes=10)

    run = backfill(connection, clock.now - timedelta(days=1), clock.now)

    connection.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.fetched >= 3
    assert connection.cursors == cursors
    poll = pull_changed_products(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
    assert poll.fetched == 0


def test_the_backfill_run_carries_its_range_and_the_runs_it_made(connection, clock):
    start_at, end_at = clock.now - timedelta(days=2), clock.now

    run = backfill(connection, start_at, end_at)

    run.refresh_from_db()
    assert (run.kind, run.range_start, run.range_end) == (SyncRun.Kind.BACKFILL, start_at, end_at)
    products_run = SyncRun.objects.get(connection=connection, kind=SyncRun.Kind.PRODUCTS)
    assert (products_run.trigger, products_run.fetched) == (SyncRun.Trigger.API, 3)


@pytest.mark.parametrize("provider", ["xero"])
def test_sales_of_the_range_without_an_entry_are_queued_once(connection, clock):
    tenant = connection.tenant
    start_at, end_at = clock.now - timedelta(days=3), clock.now - timedelta(days=1)
    missing = factories.SaleFactory(tenant=tenant, sold_at=start_at + timedelta(hours=1))
    queued = factories.OutboxEntryFactory(
        sale__tenant=tenant, sale__sold_at=start_at + timedelta(hours=2), connection=connection
    )
    factories.SaleFactory(tenant=tenant, sold_at=end_at + timedelta(hours=1))
    factories.SaleFactory(tenant=factories.TenantFactory(), sold_at=start_at + timedelta(hours=1))

    run = backfill(connection, start_at, end_at)
    again = backfill(connection, start_at, end_at)

    assert (run.created, again.created) == (1, 0)
    entries = OutboxEntry.objects.filter(connection=connection).order_by("pk")
    assert [e.sale_id for e in entries] == [queued.sale_id, missing.pk]


def product_id(emulator, code) -> str:
    return next(p["remote_id"] for p in emulator.products() if p["code"] == code)


@pytest.mark.parametrize("provider", ["vend"])
def test_a_lightspeed_backfill_reads_only_the_versions_after_the_last_poll_before_the_start(
    connection, emulator, clock
):
    pull_changed_products(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
    connection.refresh_from_db()
    cursors = dict(connection.cursors)
    clock.advance(hours=1)
    emulator.update_product(product_id(emulator, FIRST), name="Renamed in the shop")
    emulator.reset_calls()

    run = backfill(connection, clock.now - timedelta(minutes=30), clock.now)

    products_run = SyncRun.objects.get(connection=connection, kind=SyncRun.Kind.PRODUCTS, trigger="api")
    assert (run.status, products_run.fetched) == (SyncRun.Status.SUCCEEDED, 1)
    # The changed page ends the read: short of the 3 the import served, and past the cursor.
    assert emulator.calls("GET", "/api/2.0/products") == 1
    connection.refresh_from_db()
    assert connection.cursors == cursors


@pytest.mark.parametrize("provider", ["vend"])
def test_a_lightspeed_backfill_starting_before_any_poll_reads_the_whole_feed(connection, emulator, clock):
    start_at = clock.now - timedelta(days=1)
    pull_changed_products(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
    clock.advance(hours=1)

    run = backfill(connection, start_at, clock.now)

    products_run = SyncRun.objects.get(connection=connection, kind=SyncRun.Kind.PRODUCTS, trigger="api")
    assert (run.status, products_run.fetched) == (SyncRun.Status.SUCCEEDED, 3)
