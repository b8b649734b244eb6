"""While a feed runs, what was alive before it is left out of the garbage collector's passes; when
the feed ends, however it ends, the collector has every object back."""

import gc

import pytest

from connectors.base import Priority
from connectors.http import connector_for
from syncing.models import SyncRun
from syncing.services import runs
from syncing.services.products import store_products

PAGE = 100


class StoreFailed(Exception):
    pass


@pytest.fixture
def connection(start_emulator, connect):
    app = start_emulator("vend", max_page_size=PAGE)
    app.seed(products=3 * PAGE, customers=0, locations=1)
    return connect(app, "vend")


def pull(connection, store) -> SyncRun:
    def work(job):
        connector = connector_for(connection, run=job.run, priority=Priority.POLL)
        runs.follow_feed(job, resource="products", fetch=connector.pull_products, store=store)

    return runs.leased_run(
        connection=connection, kind=SyncRun.Kind.PRODUCTS, trigger=SyncRun.Trigger.MANUAL, work=work
    )


def test_objects_alive_before_a_feed_are_left_out_of_collections_while_it_runs(connection, db):
    frozen_while_storing = []

    def store(**page):
        frozen_while_storing.append(gc.get_freeze_count())
        return store_products(**page)

    pull(connection, store)

    assert len(frozen_while_storing) > 1 and min(frozen_while_storing) > 0
    assert gc.get_freeze_count() == 0


def test_a_feed_that_fails_hands_every_object_back_to_the_collector(connection, db):
    def store(**page):
        raise StoreFailed

    with pytest.raises(StoreFailed):
        pull(connection, store)

    assert gc.get_freeze_count() == 0


def test_a_feed_leaves_alone_what_the_process_froze_itself(connection, db):
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        pull(connection, store_products)

        # Neither unfrozen nor added to (frozen objects that die still leave the count).
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
