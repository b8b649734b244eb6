"""A pull stores page N+1 beside page N, each on a connection of its own, where the database lets
two writers work at once (PostgreSQL); on SQLite, one page at a time. Either way a page commits
with its cursor only after the page before it has, so a failure loses nothing and the next run
resumes after the last committed page."""

import threading
import time

import pytest
from django.db import connection as db
from django.db import transaction

from connectors.base import Priority
from connectors.http import connector_for
from syncing.models import Product, ProductLink, SyncRun
from syncing.services import runs
from syncing.services.pipeline import Turn
from syncing.services.products import pull_changed_products, store_products
from syncing.services.read_ahead import read_ahead

# A store serving at most 1,000 records a page: 3,500 products are 4 pages by version cursor.
PAGE = 1_000
PRODUCTS = 3_500
SLOW_SECONDS = 1.0


class StoreFailed(Exception):
    pass


@pytest.fixture
def emulator(start_emulator, clock):
    app = start_emulator("vend", clock=clock, max_page_size=PAGE)
    app.seed(products=PRODUCTS, customers=0, locations=2)
    return app


@pytest.fixture
def connection(emulator, connect):
    return connect(emulator, "vend")


class WatchedPull:
    """The product pull with its real fetch and store, watched: which page is which, when each
    began storing and committed. A page listed in `slow` waits after its writes; the page
    `failing` raises after its writes."""

    def __init__(self, connection, *, slow=(), failing=None):
        self.connection = connection
        self.slow, self.failing = set(slow), failing
        self.index_of: dict[int, int] = {}
        self.cursors: list[str | None] = []
        self.began: dict[int, float] = {}
        self.committed: list[int] = []
        self.committed_at: dict[int, float] = {}

    def __call__(self) -> SyncRun:
        def work(job):
            connector = connector_for(self.connection, run=job.run, priority=Priority.POLL)
            with read_ahead(connector.pull_products) as fetch:

                def numbered(**asked):
                    page = fetch(**asked)
                    self.index_of[id(page.records)] = len(self.cursors)
                    self.cursors.append(page.high_water_mark)
                    return page

                runs.follow_feed(job, resource="products", fetch=numbered, store=self.store, in_turns=True)

        return runs.leased_run(
            connection=self.connection,
            kind=SyncRun.Kind.PRODUCTS,
            trigger=SyncRun.Trigger.MANUAL,
            cursor_key="products",
            work=work,
        )

    def store(self, *, records, **kwargs):
        index = self.index_of[id(records)]
        self.began[index] = time.monotonic()
        stored = store_products(records=records, **kwargs)
        transaction.on_commit(lambda: self._committed(index))
        if index in self.slow:
            time.sleep(SLOW_SECONDS)
        if index == self.failing:
            raise StoreFailed(f"page {index}")
        return stored

    def _committed(self, index: int) -> None:
        self.committed.append(index)
        self.committed_at[index] = time.monotonic()


@pytest.mark.django_db(transaction=True)
def test_pages_commit_in_order_when_a_later_page_is_stored_first(connection):
    pull = WatchedPull(connection, slow=[0])

    run = pull()

    assert run.status == SyncRun.Status.SUCCEEDED
    assert pull.committed == [0, 1, 2, 3]
    # Page 1 was written while slow page 0 waited to commit, where two writers can work at once.
    assert (pull.began[1] < pull.committed_at[0]) == (db.vendor == "postgresql")
    connection.refresh_from_db()
    assert connection.cursors["products"] == run.cursor_after == pull.cursors[3]
    assert (run.fetched, run.created) == (PRODUCTS, PRODUCTS)


@pytest.mark.django_db(transaction=True)
def test_failure_storing_a_page_leaves_the_cursor_after_the_page_before_and_the_next_run_resumes(
    connection, emulator
):
    # Page 2 fails while page 1, slow, is still being stored beside it.
    pull = WatchedPull(connection, slow=[1], failing=2)

    with pytest.raises(StoreFailed):
        pull()

    failed = SyncRun.objects.get(connection=connection)
    connection.refresh_from_db()
    assert failed.status == SyncRun.Status.FAILED
    assert pull.committed == [0, 1]
    assert connection.cursors["products"] == failed.cursor_after == pull.cursors[1]
    assert (failed.fetched, failed.created) == (2 * PAGE, 2 * PAGE)
    assert Product.objects.filter(tenant=connection.tenant).count() == 2 * PAGE

    resumed = pull_changed_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)

    left = PRODUCTS - 2 * PAGE
    assert resumed.status == SyncRun.Status.SUCCEEDED
    assert (resumed.cursor_before, resumed.fetched, resumed.created) == (pull.cursors[1], left, left)
    local = Product.objects.filter(tenant=connection.tenant).values_list("sku", "name", "sale_price")
    remote = [(p["code"], p["name"], p["price"]) for p in emulator.products()]
    assert sorted(local) == sorted(remote)
    links = ProductLink.objects.filter(connection=connection).values_list("remote_id", flat=True)
    assert sorted(links) == sorted(p["remote_id"] for p in emulator.products())


def stored_beside(first: Turn, second: Turn, *, first_writes: dict, second_reads: dict) -> bool:
    """Whether `second` got past its claim while `first`, having said what it writes, had not yet
    committed."""
    passed = threading.Event()

    def next_page():
        second.claim(**second_reads)
        passed.set()

    first.touching(**first_writes)
    thread = threading.Thread(target=next_page)
    thread.start()
    beside = passed.wait(SLOW_SECONDS)
    first.finish(None)
    thread.join()
    return beside


def test_a_page_reading_rows_the_page_before_writes_waits_for_it_to_commit():
    first = Turn(None)
    second = Turn(first)

    assert not stored_beside(
        first, second, first_writes={"sku": {"A", "B"}}, second_reads={"sku": {"B", "C"}}
    )


def test_a_page_reading_other_rows_is_stored_beside_the_page_before():
    first = Turn(None)
    second = Turn(first)

    assert stored_beside(
        first, second, first_writes={"sku": {"A", "B"}, "remote_id": {"1"}}, second_reads={"sku": {"C"}}
    )


def test_a_page_behind_one_that_failed_is_abandoned():
    first = Turn(None)
    second = Turn(first)
    first.finish(StoreFailed("page 0"))

    with pytest.raises(Exception, match="was not stored"):
        second.follow()
