"""Outside a transaction a pull reads its next page in a background thread while it stores the
current one. The pages, their order, the cursor and the errors must be exactly the plain loop's."""

import pytest

from connectors.emulation.app import Fault
from syncing.models import Product, SyncRun
from syncing.services.products import pull_changed_products
from syncing.services.stock import pull_changed_stock

# A store serving at most 1,000 records a page, whatever the feed asks for: 2,500 products are
# three pages by version cursor, the last one short of the others, which ends the read.
PAGE = 1_000
PRODUCTS = 2_500


@pytest.fixture
def emulator(start_emulator, clock):
    app = start_emulator("vend", clock=clock, max_page_size=PAGE)
    app.seed(products=PRODUCTS, customers=0, locations=2)
    return app


@pytest.fixture
def connection(emulator, connect):
    return connect(emulator, "vend")


@pytest.mark.django_db(transaction=True)
def test_pull_read_ahead_stores_every_page_once_for_the_plain_loops_calls(connection, emulator):
    products = pull_changed_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)
    stock = pull_changed_stock(connection=connection, trigger=SyncRun.Trigger.MANUAL)

    assert (products.status, products.created, products.api_calls) == (SyncRun.Status.SUCCEEDED, 2500, 3)
    assert (stock.status, stock.created) == (SyncRun.Status.SUCCEEDED, 5000)
    local = Product.objects.values_list("sku", "name", "sale_price")
    assert sorted(local) == sorted((p["code"], p["name"], p["price"]) for p in emulator.products())


@pytest.mark.django_db(transaction=True)
def test_page_the_reader_could_not_read_fails_the_run_after_the_pages_before_it(connection, emulator):
    asked_after: list[str] = []

    def malform_the_second_page(request):
        if request.path.endswith("/products"):
            asked_after.append(request.params["after"])
            if len(asked_after) == 2:
                return Fault("malform")
        return None

    emulator.fault_source = malform_the_second_page

    run = pull_changed_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)

    connection.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert "could not read" in run.error_summary
    assert Product.objects.count() == PAGE
    assert connection.cursors["products"] == run.cursor_after == asked_after[1]
    assert len(asked_after) == 2  # nothing read past the broken page
