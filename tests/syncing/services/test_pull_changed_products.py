"""Pulling the product change feed from each provider's emulator, over real HTTP."""

import threading

import pytest
from django.utils import timezone

from syncing.models import Product, ProductLink, SyncRun
from syncing.services.leases import take_lease
from syncing.services.products import pull_changed_products

MANUAL = SyncRun.Trigger.MANUAL
# Sage reports deletions only in a second feed (`deleted_since`), read after the change feed:
# https://developer.sage.com/accounting/guides/efficiencies/filtering
CALLS_FOR_AN_EMPTY_POLL = {"xero": 1, "vend": 1, "sage": 2, "unleashed": 1}


def pull(connection, **kwargs):
    return pull_changed_products(connection=connection, trigger=MANUAL, **kwargs)


def local_catalogue(connection):
    return {(p.sku, p.name, p.sale_price, p.active) for p in Product.objects.filter(tenant=connection.tenant)}


def remote_catalogue(emulator):
    return {(p["code"], p["name"], p["price"], p["active"]) for p in emulator.products()}


def test_first_pull_imports_every_product_with_its_link(connection, emulator):
    run = pull(connection)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.created, run.fetched) == (3, 3)
    assert local_catalogue(connection) == remote_catalogue(emulator)
    assert set(ProductLink.objects.values_list("remote_id", flat=True)) == {
        p["remote_id"] for p in emulator.products()
    }
    assert run.api_calls == emulator.calls()


def test_incremental_pull_picks_up_exactly_the_changed_products(connection, emulator, clock):
    pull(connection)
    clock.advance(minutes=1)
    changed = emulator.products()[0]
    emulator.update_product(changed["remote_id"], name="Renamed remotely")
    emulator.add_product(code="NEW-1", name="Brand new", price=4)

    run = pull(connection)

    assert (run.fetched, run.created, run.updated, run.unchanged) == (2, 1, 1, 0)
    assert Product.objects.get(sku=changed["code"]).name == "Renamed remotely"
    assert local_catalogue(connection) == remote_catalogue(emulator)


@pytest.mark.parametrize("provider", ["vend", "sage", "unleashed"])
def test_product_deleted_remotely_is_deactivated_not_deleted(connection, emulator, clock):
    pull(connection)
    clock.advance(minutes=1)
    gone = emulator.products()[1]
    emulator.delete_product(gone["remote_id"])

    run = pull(connection)

    product = Product.objects.get(sku=gone["code"])
    assert product.active is False
    assert run.updated == 1
    assert Product.objects.filter(tenant=connection.tenant).count() == 3


def test_poll_that_finds_nothing_costs_one_call_per_feed(connection, emulator, provider, clock):
    pull(connection)
    clock.advance(minutes=1)
    emulator.reset_calls()

    run = pull(connection)

    assert (run.created, run.updated) == (0, 0)
    assert emulator.calls() == CALLS_FOR_AN_EMPTY_POLL[provider]


@pytest.mark.parametrize("provider", ["vend"])
def test_pull_broken_after_a_stored_page_resumes_after_that_page(connection, emulator, clock):
    """Lightspeed pages by version (`after=`): every page's cursor is committed with it."""

    def break_the_next_page(records):
        emulator.malform_next(match="/products")

    crashed = pull(connection, on_page=break_the_next_page)
    assert crashed.status == SyncRun.Status.FAILED
    assert "could not read" in crashed.error_summary
    assert Product.objects.count() == 3
    connection.refresh_from_db()
    assert connection.cursors["products"] == crashed.cursor_after != ""

    clock.advance(minutes=1)
    emulator.update_product(emulator.products()[2]["remote_id"], name="Changed after the crash")
    emulator.reset_calls()
    resumed = pull(connection)

    assert resumed.cursor_before == crashed.cursor_after
    assert (resumed.fetched, resumed.updated) == (1, 1)
    # The changed product's page alone: short of the 3 the crashed run's page held, it ends the read.
    assert emulator.calls("GET", "/products") == 1


@pytest.mark.parametrize("provider", ["xero"])
def test_pull_while_another_holds_the_lease_is_skipped_without_calls(connection, emulator):
    take_lease(connection, SyncRun.Kind.PRODUCTS, "another-worker")
    emulator.reset_calls()

    run = pull(connection)

    assert run.status == SyncRun.Status.SKIPPED
    assert emulator.calls() == 0


def test_spent_monthly_budget_defers_the_pull_until_the_month_resets(connection, emulator):
    connection.monthly_call_limit = 0
    connection.save()
    emulator.reset_calls()

    run = pull(connection)

    connection.refresh_from_db()
    assert run.status == SyncRun.Status.DEFERRED
    assert run.deferred_until == connection.next_poll_at
    assert run.deferred_until.day == 1 and run.deferred_until > timezone.now()
    assert emulator.calls() == 0


@pytest.mark.parametrize("provider", ["xero"])
def test_malformed_feed_fails_the_run_and_keeps_earlier_data(connection, emulator, clock):
    pull(connection)
    clock.advance(minutes=1)
    emulator.malform_next()

    run = pull(connection)

    assert run.status == SyncRun.Status.FAILED
    assert Product.objects.filter(active=True).count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", ["xero"])
def test_two_pulls_started_together_run_once(connection, emulator):
    statuses = []

    def worker():
        from django.db import connection as db

        try:
            statuses.append(pull(connection).status)
        finally:
            db.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [SyncRun.Status.SKIPPED, SyncRun.Status.SUCCEEDED]
    assert Product.objects.count() == 3
