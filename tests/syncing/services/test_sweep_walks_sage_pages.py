"""Sage has no id filter: its sweep walks the whole catalogue a page (200 items) per run, from a
cursor kept on the connection, so one pass re-confirms every link for one call per page, and the
links the pass did not see are looked up by id at its end: the gone ones are ghosts."""

import pytest

from syncing.models import Product, ProductLink, SyncRun
from syncing.services.products import SWEEP_CURSOR, pull_changed_products, sweep_stale_products

# Three pages of Sage's 200: 200, 200 and 50.
PRODUCTS = 450
PAGES = 3


@pytest.fixture
def emulator(start_emulator, clock):
    app = start_emulator("sage", clock=clock)
    app.seed(products=PRODUCTS, customers=0, locations=2)
    return app


@pytest.fixture
def connection(emulator, connect):
    connection = connect(emulator, "sage")
    pull_changed_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    return connection


def sweep(connection) -> SyncRun:
    run = sweep_stale_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
    return run


def test_one_pass_confirms_every_link_for_one_call_per_page(connection, emulator):
    imported_at = ProductLink.objects.latest("last_confirmed_at").last_confirmed_at
    emulator.reset_calls()

    first = sweep(connection)
    connection.refresh_from_db()
    assert connection.cursors[SWEEP_CURSOR].startswith("2|")
    assert first.unchanged == 200
    for _ in range(PAGES - 1):
        sweep(connection)

    assert emulator.calls() == PAGES
    assert not ProductLink.objects.filter(last_confirmed_at__lte=imported_at).exists()
    connection.refresh_from_db()
    assert connection.cursors[SWEEP_CURSOR] == ""  # the next pass starts on page 1 again


def inactive_skus() -> set[str]:
    return set(Product.objects.filter(active=False).values_list("sku", flat=True))


def test_ghosts_are_found_by_the_pass_after_their_deletion_and_shifted_items_are_not(connection, emulator):
    before_the_pass, during_the_pass = emulator.products()[:2]
    emulator.delete_product(before_the_pass["remote_id"])
    sweep(connection)
    # Deleted behind the feed's back after its page was swept: the items after it move up a place,
    # so the first item of page 2 is on page 1 by the time page 2 is read, and this pass misses it.
    emulator.delete_product(during_the_pass["remote_id"])
    for _ in range(PAGES - 1):
        sweep(connection)

    assert inactive_skus() == {before_the_pass["code"]}

    for _ in range(PAGES):
        sweep(connection)

    assert inactive_skus() == {before_the_pass["code"], during_the_pass["code"]}
    assert ProductLink.objects.filter(remote_deleted=True).count() == 2
